import Foundation
import Testing
import Attribution

/// What a user sees when `--pods FILE` is not what we expect: one line, saying what is wrong.
struct ErrorTests {
    func failure(_ text: String) -> AttributionError? {
        attributionError { () throws(AttributionError) in _ = try ClusterDirectory(kubectlJSON: Data(text.utf8)) }
    }

    @Test(arguments: [
        #"{"kind":"List","items":[{"kind":"Pod""#,            // truncated
        #"{"kind": "List", items: []}"#,                      // unquoted key
        "{\"kind\":\"List\",\n\"items\":[\n{\"kind\" \"Pod\"}\n]}",  // missing colon, several lines
        "not json at all",
    ])
    func malformedJSONIsOneLine(text: String) throws {
        let error = try #require(failure(text))
        guard case .notJSON = error else {
            Issue.record("expected notJSON, got \(error)")
            return
        }
        #expect(error.description.isOneLine)
        #expect(error.description.hasPrefix("kubectl JSON input is not JSON ("))
        #expect(error.description.hasSuffix("expected the output of `kubectl get pods,svc -A -o json`"))
    }

    /// The message says where the text stops being JSON.
    @Test(arguments: [
        (#"{"kind":"List","items":[{"kind":"Pod""#, "unexpected end of input at line 1, column 38 (truncated?)"),
        ("{\"kind\":\"List\",\n\"items\":[\n{\"kind\" \"Pod\"}\n]}", "unexpected '\"' at line 3, column 9, expected ':'"),
        (#"{"kind": "List", items: []}"#, "unexpected 'i' at line 1, column 18, expected a quoted key"),
        ("{\"kind\":\"List\",\"items\":[{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web", "unterminated string starting at line 1, column 58 (truncated?)"),
        (#"{"kind":"List","items":[1 2]}"#, "unexpected '2' at line 1, column 27, expected ',' or ']'"),
        (#"{"kind":"List","items":[] }}"#, "unexpected '}' at line 1, column 28"),
        ("not json at all", "unexpected 'n' at line 1, column 1"),
    ])
    func syntaxErrorPosition(text: String, detail: String) throws {
        #expect(failure(text) == .notJSON(source: "kubectl JSON input", detail: detail))
    }

    @Test func emptyInput() throws {
        #expect(failure("") == .notJSON(source: "kubectl JSON input", detail: "the input is empty"))
        #expect(failure(" \n\t") == .notJSON(source: "kubectl JSON input", detail: "the input is blank"))
    }

    @Test func yamlAndTableOutputGetAHint() throws {
        let yaml = "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\nkind: List\n"
        let yamlError = try #require(failure(yaml))
        #expect(yamlError.description == "kubectl JSON input is not JSON (it looks like YAML; use `-o json`, not `-o yaml`); expected the output of `kubectl get pods,svc -A -o json`")
        let table = "NAMESPACE     NAME                       READY   STATUS    RESTARTS   AGE\nkube-system   coredns-5dd5756b68-7xkqp   1/1     Running   0          2d\n"
        #expect(try #require(failure(table)).description.contains("looks like kubectl's table output; add `-o json`"))
    }

    @Test(arguments: [
        (#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"coredns"},"data":{}}"#, "kind ConfigMap"),
        (#"{"apiVersion":"apps/v1","kind":"DeploymentList","items":[]}"#, "kind DeploymentList"),
        (#"{"apiVersion":"v1","metadata":{}}"#, #"no "kind" field"#),
        (#"[{"kind":"Pod"}]"#, "a JSON array"),
        (#""Pod""#, "a JSON string"),
        ("42", "a JSON value that is not an object"),
        (#"{"kind":"List","items":{"kind":"Pod"}}"#, #""items" is not an array"#),
    ])
    func wrongDocumentIsOneLine(text: String, found: String) throws {
        let error = try #require(failure(text))
        #expect(error == .notKubectlDocument(source: "kubectl JSON input", found: found))
        #expect(error.description == "kubectl JSON input is not a kubectl List/Pod/Service document (\(found)); expected the output of `kubectl get pods,svc -A -o json`")
        #expect(error.description.isOneLine)
    }

    @Test func missingFileIsOneLine() throws {
        let path = "/nonexistent-dnstrail/pods.json"
        let error = try #require(attributionError { () throws(AttributionError) in _ = try ClusterDirectory.load(path: path) })
        #expect(error == .unreadable(path: path, reason: "No such file or directory"))
        #expect(error.description == "cannot read kubectl JSON file '/nonexistent-dnstrail/pods.json': No such file or directory")
    }

    @Test func directoryIsUnreadable() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = try #require(attributionError { () throws(AttributionError) in _ = try ClusterDirectory.load(path: folder.path) })
        #expect(error == .unreadable(path: folder.path, reason: "Is a directory"))
        #expect(error.description.isOneLine)
    }

    @Test func fileErrorsNameTheFile() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let broken = folder.appendingPathComponent("pods.json")
        try Data("{\"kind\":\"List\",\n\"items\":[".utf8).write(to: broken)
        let error = try #require(attributionError { () throws(AttributionError) in _ = try ClusterDirectory.load(path: broken.path) })
        #expect(error.description.hasPrefix("'\(broken.path)' is not JSON ("))
        #expect(error.description.isOneLine)
        let wrongKind = folder.appendingPathComponent("cm.json")
        try Data(#"{"kind":"ConfigMap"}"#.utf8).write(to: wrongKind)
        let kindError = try #require(attributionError { () throws(AttributionError) in _ = try ClusterDirectory.load(path: wrongKind.path) })
        #expect(kindError == .notKubectlDocument(source: "'\(wrongKind.path)'", found: "kind ConfigMap"))
    }

    @Test func controlCharactersInAPathDoNotBreakTheLine() {
        let error = AttributionError.unreadable(path: "bad\nname.json", reason: "No such file or directory")
        #expect(error.description == "cannot read kubectl JSON file 'bad name.json': No such file or directory")
    }

    @Test func longDetailIsClipped() {
        let error = AttributionError.notJSON(source: "x", detail: String(repeating: "a", count: 5000))
        #expect(error.description.count < 400)
        #expect(error.description.isOneLine)
    }
}

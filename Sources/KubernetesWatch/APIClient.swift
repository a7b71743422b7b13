#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL

/// GET requests to the API server over HTTPS, trusting only the connection's CA (NIOSSL:
/// Foundation on Linux cannot use a custom CA file): a whole response (a list page) or a
/// response read line by line (a watch stream).
final class APIClient: Sendable {
    let connection: APIServerConnection
    private let client: HTTPClient

    /// Longest list page read (one `limit`-sized page of Services or pods is far less).
    static let maximumListBytes = 64 << 20
    /// Longest watch line (one event with its object) read.
    static let maximumEventBytes = 4 << 20
    /// How long closing a TLS connection waits for the server's close_notify: a watch
    /// ended by us (at the end of the run) need not wait for it.
    static let tlsShutdownTimeout = TimeAmount.milliseconds(100)

    /// A client for `connection`; `readTimeout` bounds the silence on an open response
    /// (a watch asks the server to end it earlier, see `CollectionWatch.watchSeconds`).
    init(connection: APIServerConnection, connectTimeout: TimeAmount, readTimeout: TimeAmount) throws(KubernetesWatchError) {
        self.connection = connection
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let authority = connection.certificateAuthorityPEM {
                let certificates = try NIOSSLCertificate.fromPEMBytes(authority)
                guard !certificates.isEmpty else { throw KubernetesWatchError.credentials(reason: "no certificate in the CA data") }
                tls.trustRoots = .certificates(certificates)
            }
            if let certificate = connection.clientCertificatePEM, let key = connection.clientKeyPEM {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
        } catch let error as KubernetesWatchError {
            throw error
        } catch {
            throw .credentials(reason: "unreadable certificate or key (\(oneLine(String(describing: error))))")
        }
        if connection.skipsTLSVerification { tls.certificateVerification = .none }
        tls.shutdownTimeout = Self.tlsShutdownTimeout
        let configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: connectTimeout, read: readTimeout), proxy: nil, decompression: .disabled)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The server URL joined with `path` and the query (values percent-encoded).
    func url(path: String, query: [(String, String)]) -> String {
        var server = connection.server
        while server.hasSuffix("/") { server.removeLast() }
        let encoded = query.map { "\($0.0)=\(Self.percentEncoded($0.1))" }.joined(separator: "&")
        return server + path + (encoded.isEmpty ? "" : "?" + encoded)
    }

    static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let isUnreserved = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            if isUnreserved {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }

    /// A response whose body is read by the caller.
    struct Response {
        var status: Int
        var body: HTTPClientResponse.Body
    }

    /// Sends a GET with the bearer token; the body is not read yet.
    func get(url: String, deadline: NIODeadline) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "dnstrail")
        if let token = try connection.currentToken(), !token.isEmpty {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        let response = try await client.execute(request, deadline: deadline)
        return Response(status: Int(response.status.code), body: response.body)
    }

    /// The whole body, up to `limit` bytes (more throws `.tooLarge`).
    static func collect(_ body: HTTPClientResponse.Body, limit: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await buffer in body {
            guard bytes.count + buffer.readableBytes <= limit else { throw APIClientError.tooLarge(limit: limit) }
            bytes.append(contentsOf: buffer.readableBytesView)
        }
        return bytes
    }

    /// Closes the connections; waits for them.
    func shutdown() async {
        try? await client.shutdown()
    }
}

/// What went wrong with one response.
enum APIClientError: Error, CustomStringConvertible {
    case tooLarge(limit: Int)
    case status(code: Int, message: String)

    var description: String {
        switch self {
        case .tooLarge(let limit): "a response or event larger than \(limit >> 20) MB"
        case .status(let code, let message): message.isEmpty ? "HTTP \(code)" : "HTTP \(code): \(message)"
        }
    }
}

/// Splits a byte stream into lines (`\n`, a trailing `\r` dropped), each at most `limit` bytes.
struct LineSplitter {
    let limit: Int
    private var pending: [UInt8] = []

    init(limit: Int) {
        self.limit = limit
    }

    /// The complete lines in `bytes` plus what was pending; throws `.tooLarge` for a longer line.
    mutating func lines(adding bytes: some Collection<UInt8>) throws(APIClientError) -> [[UInt8]] {
        var result: [[UInt8]] = []
        for byte in bytes {
            if byte == 0x0A {
                if pending.last == 0x0D { pending.removeLast() }
                if !pending.isEmpty { result.append(pending) }
                pending.removeAll(keepingCapacity: true)
            } else {
                guard pending.count < limit else { throw .tooLarge(limit: limit) }
                pending.append(byte)
            }
        }
        return result
    }

    /// Bytes of a line not yet ended (a stream cut mid-event).
    var unfinishedCount: Int { pending.count }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

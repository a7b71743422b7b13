import Foundation
import Testing
import Attribution
import PacketDecoding

/// Real files vary: other kinds in the List, fields missing, fields added by newer versions.
struct ToleranceTests {
    @Test func listWithUnknownKindsIsFine() throws {
        let json = #"""
        {"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[
          {"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"coredns","namespace":"kube-system"},
           "data":{"Corefile":".:53 {\n    forward . /etc/resolv.conf\n}\n"}},
          {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"coredns","namespace":"kube-system"},
           "spec":{"selector":{"matchLabels":{"k8s-app":"kube-dns"}},"replicas":2}},
          {"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-7d4b9c-x2x","namespace":"default"},
           "spec":{"nodeName":"node-a"},"status":{"podIP":"10.244.0.7","phase":"Running"}}
        ]}
        """#
        let directory = try readDirectory(json)
        #expect(directory.podCount == 1)
        #expect(directory.skippedItemCount == 0)
        #expect(directory.identity(of: try address("10.244.0.7"))?.description == "default/web-7d4b9c-x2x (node-a)")
    }

    @Test func emptyListIsFine() throws {
        // `kubectl get pods -A -o json` on a cluster without pods.
        let directory = try readDirectory(#"{"apiVersion":"v1","items":[],"kind":"List","metadata":{"resourceVersion":""}}"#)
        #expect(directory.podCount == 0)
        #expect(try readDirectory(#"{"apiVersion":"v1","items":null,"kind":"PodList"}"#).podCount == 0)
    }

    @Test func minimalObjectsWithMissingOptionalFields() throws {
        let json = #"""
        {"kind":"List","items":[
          {"kind":"Pod","metadata":{"name":"bare","namespace":"default"}},
          {"kind":"Pod","metadata":{"name":"no-namespace"},"status":{"podIP":"10.244.0.8"}},
          {"kind":"Service","metadata":{"name":"bare-svc","namespace":"default"},"spec":{"clusterIP":"10.96.7.7"}},
          {"kind":"Service","metadata":{"name":"external","namespace":"default"},"spec":{"type":"ExternalName","externalName":"db.example.com"}},
          {"kind":"Service","metadata":{"name":"port-without-protocol","namespace":"default"},
           "spec":{"clusterIP":"10.96.7.8","ports":[{"port":80}]}}
        ]}
        """#
        let directory = try readDirectory(json)
        #expect(directory.podCount == 2)
        #expect(directory.serviceCount == 3)
        // A pod without namespace is in `default`; one without node prints without it.
        #expect(directory.identity(of: try address("10.244.0.8"))?.description == "default/no-namespace")
        #expect(directory.service(at: try address("10.96.7.7")) == ServiceIdentity(namespace: "default", name: "bare-svc"))
        #expect(directory.service(at: try address("10.96.7.8"))?.ports == [ServicePort(port: 80, transportProtocol: "TCP")])
    }

    @Test func unknownFieldsAndNewerFieldsAreIgnored() throws {
        let json = #"""
        {"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"ns","labels":{"a":"b"},
          "annotations":{"x":"y"},"finalizers":["f"],"futureField":{"deep":[1,2,3]}},
         "spec":{"nodeName":"n1","hostNetwork":false,"resourceClaims":[],"os":{"name":"linux"}},
         "status":{"podIP":"10.1.2.3","podIPs":[{"ip":"10.1.2.3","extra":true}],"hostIP":"192.0.2.1",
                   "hostIPs":[{"ip":"192.0.2.1"}],"resize":"Proposed","phase":"Running"}}
        """#
        let directory = try readDirectory(json)
        #expect(directory.pod(at: try address("10.1.2.3")) == PodIdentity(namespace: "ns", name: "p", node: "n1", labels: ["a": "b"]))
        #expect(directory.identity(of: try address("192.0.2.1")) == .node("n1"))
    }

    /// One unreadable item (a field of the wrong type) is skipped and counted; the rest is read.
    @Test func malformedItemIsSkippedNotFatal() throws {
        let json = #"""
        {"kind":"List","items":[
          {"kind":"Pod","metadata":{"name":"bad","namespace":"default"},"spec":{"hostNetwork":"yes"},"status":{"podIP":"10.244.0.9"}},
          {"kind":"Pod","metadata":{"namespace":"default"},"status":{"podIP":"10.244.0.10"}},
          {"kind":"Service","metadata":{"name":"bad-port","namespace":"default"},"spec":{"clusterIP":7}},
          "not an object",
          {"kind":"Pod","metadata":{"name":"good","namespace":"default"},"status":{"podIP":"10.244.0.11","podIPs":[{"ip":"not-an-ip"},{"ip":"fd00::b"}]}}
        ]}
        """#
        let directory = try readDirectory(json)
        #expect(directory.podCount == 1)
        #expect(directory.skippedItemCount == 4)
        #expect(directory.pod(at: try address("10.244.0.11"))?.name == "good")
        #expect(directory.pod(at: try address("fd00::B"))?.name == "good")
        #expect(directory.identity(of: try address("10.244.0.9")) == nil)
    }

    @Test func singlePodAndServiceDocuments() throws {
        // `kubectl get pod web -o json`
        let pod = try readDirectory(#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-7d4b9c-x2x","namespace":"default"},"spec":{"nodeName":"node-a"},"status":{"podIP":"10.244.0.7"}}"#)
        #expect(pod.identity(of: try address("10.244.0.7"))?.description == "default/web-7d4b9c-x2x (node-a)")
        // `kubectl get svc -n kube-system kube-dns -o json`
        let service = try readDirectory(#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"kube-dns","namespace":"kube-system"},"spec":{"clusterIP":"10.100.0.10","clusterIPs":["10.100.0.10"],"ports":[{"name":"dns","port":53,"protocol":"UDP","targetPort":53}]}}"#)
        #expect(service.isDNSServer(try address("10.100.0.10")))
    }

    @Test func serviceListItemsWithoutKind() throws {
        let json = #"{"kind":"ServiceList","apiVersion":"v1","items":[{"metadata":{"name":"kube-dns","namespace":"kube-system"},"spec":{"clusterIP":"10.43.0.10","selector":{"k8s-app":"kube-dns"}}}]}"#
        let directory = try readDirectory(json)
        #expect(directory.serviceCount == 1)
        #expect(directory.dnsRole(of: try address("10.43.0.10")) == .kubeDNSService(
            ServiceIdentity(namespace: "kube-system", name: "kube-dns", selector: ["k8s-app": "kube-dns"])))
    }

    @Test func listItemsWithoutKindAreRecognisedByShape() throws {
        let json = #"""
        {"kind":"List","items":[
          {"metadata":{"name":"p","namespace":"default"},"spec":{"nodeName":"n"},"status":{"podIP":"10.244.0.5"}},
          {"metadata":{"name":"s","namespace":"default"},"spec":{"clusterIP":"10.96.5.5","ports":[{"port":80}]}},
          {"metadata":{"name":"cm","namespace":"default"},"data":{"a":"b"}}
        ]}
        """#
        let directory = try readDirectory(json)
        #expect(directory.podCount == 1)
        #expect(directory.serviceCount == 1)
    }

    /// Another Service in front of CoreDNS (NodeLocal DNSCache's `kube-dns-upstream`) is a DNS server too.
    @Test func anyServiceSelectingCoreDNSIsADNSServer() throws {
        let json = #"""
        {"kind":"List","items":[
          {"kind":"Service","metadata":{"name":"kube-dns-upstream","namespace":"kube-system"},
           "spec":{"clusterIP":"10.96.200.12","selector":{"k8s-app":"kube-dns"},"ports":[{"name":"dns","port":53,"protocol":"UDP"}]}},
          {"kind":"Service","metadata":{"name":"coredns","namespace":"dns"},
           "spec":{"clusterIP":"10.96.200.13","selector":{"app.kubernetes.io/instance":"coredns","app.kubernetes.io/name":"coredns"}}},
          {"kind":"Service","metadata":{"name":"rke2-coredns","namespace":"kube-system"},
           "spec":{"clusterIP":"10.43.0.10","selector":{"app.kubernetes.io/instance":"rke2-coredns","custom":"dns"}}},
          {"kind":"Pod","metadata":{"name":"rke2-coredns-abc","namespace":"kube-system",
            "labels":{"app.kubernetes.io/instance":"rke2-coredns","custom":"dns","k8s-app":"kube-dns"}},
           "status":{"podIP":"10.42.0.3","phase":"Running"}},
          {"kind":"Service","metadata":{"name":"web","namespace":"kube-system"},"spec":{"clusterIP":"10.96.200.14","selector":{"app":"web"}}},
          {"kind":"Service","metadata":{"name":"manual","namespace":"kube-system"},"spec":{"clusterIP":"10.96.200.15"}}
        ]}
        """#
        let directory = try readDirectory(json)
        for text in ["10.96.200.12", "10.96.200.13", "10.43.0.10"] {
            guard case .kubeDNSService? = directory.dnsRole(of: try address(text)) else {
                Issue.record("\(text) should be a kube-dns Service address")
                continue
            }
        }
        #expect(directory.dnsRole(of: try address("10.42.0.3")) == .coreDNSPod(try #require(directory.pod(at: try address("10.42.0.3")))))
        #expect(directory.isDNSServer(try address("10.96.200.14")) == false)
        #expect(directory.isDNSServer(try address("10.96.200.15")) == false)
    }

    @Test(arguments: ["kube-dns", "coredns"])
    func coreDNSPodLabels(value: String) throws {
        let json = #"{"kind":"Pod","metadata":{"name":"dns-0","namespace":"kube-system","labels":{"k8s-app":"\#(value)"}},"status":{"podIP":"10.244.3.3"}}"#
        let directory = try readDirectory(json)
        guard case .coreDNSPod(let pod)? = directory.dnsRole(of: try address("10.244.3.3")) else {
            Issue.record("not a CoreDNS pod")
            return
        }
        #expect(pod.name == "dns-0")
    }

    /// A CoreDNS pod that finished keeps its old `podIP`; the pod now owning the address is not DNS.
    @Test func finishedCoreDNSPodDoesNotMakeItsOldAddressADNSServer() throws {
        let json = #"""
        {"kind":"List","items":[
          {"kind":"Pod","metadata":{"name":"coredns-old","namespace":"kube-system","labels":{"k8s-app":"kube-dns"}},
           "status":{"podIP":"10.244.0.4","phase":"Failed"}},
          {"kind":"Pod","metadata":{"name":"web","namespace":"default"},"status":{"podIP":"10.244.0.4","phase":"Running"}}
        ]}
        """#
        let directory = try readDirectory(json)
        #expect(directory.pod(at: try address("10.244.0.4"))?.name == "web")
        #expect(directory.isDNSServer(try address("10.244.0.4")) == false)
    }

    /// Older objects without `hostNetwork` still share the node address when podIP == hostIP.
    @Test func podIPEqualToHostIPIsHostNetwork() throws {
        let json = #"""
        {"kind":"PodList","items":[
          {"metadata":{"name":"calico-node-x1","namespace":"calico-system"},"spec":{"nodeName":"node-a"},
           "status":{"podIP":"10.0.1.10","hostIP":"10.0.1.10","phase":"Running"}},
          {"metadata":{"name":"kube-proxy-a1","namespace":"kube-system"},"spec":{"nodeName":"node-a","hostNetwork":true},
           "status":{"podIP":"10.0.1.10","hostIP":"10.0.1.10","phase":"Running"}}
        ]}
        """#
        let directory = try readDirectory(json)
        let node = try address("10.0.1.10")
        #expect(directory.pod(at: node) == nil)
        #expect(directory.hostNetworkPods(at: node).map(\.name) == ["calico-node-x1", "kube-proxy-a1"])
        #expect(directory.identity(of: node)?.description == "node node-a (host network)")
    }

    @Test func nodeObjectsGiveNodeAddresses() throws {
        let json = #"""
        {"apiVersion":"v1","kind":"List","items":[
          {"apiVersion":"v1","kind":"Node","metadata":{"name":"ip-192-168-10-20.eu-west-1.compute.internal",
            "labels":{"kubernetes.io/hostname":"ip-192-168-10-20.eu-west-1.compute.internal"}},
           "status":{"addresses":[{"address":"192.168.10.20","type":"InternalIP"},{"address":"54.0.0.20","type":"ExternalIP"},
             {"address":"ip-192-168-10-20.eu-west-1.compute.internal","type":"Hostname"},
             {"address":"ip-192-168-10-20.eu-west-1.compute.internal","type":"InternalDNS"}]}}
        ]}
        """#
        let directory = try readDirectory(json)
        #expect(directory.nodeCount == 1)
        #expect(directory.identity(of: try address("192.168.10.20"))?.description == "node ip-192-168-10-20.eu-west-1.compute.internal")
        #expect(directory.node(at: try address("54.0.0.20")) == "ip-192-168-10-20.eu-west-1.compute.internal")
        #expect(try readDirectory(#"{"kind":"NodeList","items":[{"metadata":{"name":"n"},"status":{"addresses":[{"type":"InternalIP","address":"10.1.1.1"}]}}]}"#)
            .node(at: try address("10.1.1.1")) == "n")
    }

    /// `kubectl ... -o json > file 2>&1` puts warnings before the JSON; a byte order mark may lead.
    @Test func warningLinesAndByteOrderMarkBeforeTheJSON() throws {
        let warned = "Warning: v1 ComponentStatus is deprecated in v1.19+\n" + Fixtures.monitoringPodList
        #expect(try readDirectory(warned).podCount == 3)
        var bom = Data([0xEF, 0xBB, 0xBF])
        bom.append(Data(Fixtures.monitoringPodList.utf8))
        #expect(try ClusterDirectory(kubectlJSON: bom).podCount == 3)
    }

    /// `{ kubectl get pods -A -o json; kubectl get svc -A -o json; } > cluster.json`
    @Test func concatenatedDocumentsAreAllRead() throws {
        let both = try readDirectory(Fixtures.cluster + "\n" + Fixtures.monitoringPodList + "\n")
        #expect(both.podCount == 13)
        #expect(both.serviceCount == 6)
        let wrong = attributionError { () throws(AttributionError) in
            _ = try ClusterDirectory(kubectlJSON: Data((Fixtures.monitoringPodList + #"{"kind":"ConfigMap"}"#).utf8))
        }
        #expect(wrong == .notKubectlDocument(source: "kubectl JSON input", found: "kind ConfigMap"))
    }

    @Test func failedAddChangesNothing() throws {
        var cluster = try readDirectory(Fixtures.monitoringPodList)
        #expect(attributionError { () throws(AttributionError) in try cluster.add(kubectlJSON: Data("{".utf8)) } != nil)
        #expect(cluster.podCount == 3)
    }
}

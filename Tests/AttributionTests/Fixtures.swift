// Fixture documents shaped exactly like kubectl output, embedded as string literals so the
// test target needs no `resources:` entry in Package.swift. Generated once from a small
// script and then kept by hand; keys are sorted and indented by 4 like `kubectl -o json`.
//
// Cluster (kubeadm, dual-stack): node-a 10.0.1.10 / fd00:10:0:1::a, node-b 10.0.1.11 /
// fd00:10:0:1::b; pods 10.244.0.0/24 + fd00:10:244::/64 on node-a, 10.244.1.0/24 +
// fd00:10:244:1::/64 on node-b; Services 10.96.0.0/12 + fd00:10:96::/112.
enum Fixtures {
    /// `kubectl get pods,svc -A -o json`: CoreDNS ×2 (k8s-app=kube-dns), kube-proxy ×2
    /// (hostNetwork), payments (api, worker, db-0 behind a headless Service), sales (redis-0,
    /// sales-web running + one Pending without IP); Services kubernetes, kube-dns
    /// (10.96.0.10 + fd00:10:96::a; 53/UDP, 53/TCP, 9153/TCP), payments-api, payments-db
    /// (headless), redis, sales-web (NodePort).
    static let cluster = #"""
{
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "creationTimestamp": "2024-05-01T10:02:11Z",
                "labels": {
                    "k8s-app": "kube-dns",
                    "pod-template-hash": "5dd5756b68"
                },
                "name": "coredns-5dd5756b68-7xkqp",
                "namespace": "kube-system",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "ReplicaSet",
                        "name": "coredns-5dd5756b68",
                        "uid": "5b1f8e0c-3a9d-4c2e-9f1b-7e6d5c4b3a21"
                    }
                ],
                "resourceVersion": "1187",
                "uid": "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
            },
            "spec": {
                "containers": [
                    {
                        "args": [
                            "-conf",
                            "/etc/coredns/Corefile"
                        ],
                        "image": "registry.k8s.io/coredns/coredns:v1.11.1",
                        "imagePullPolicy": "IfNotPresent",
                        "livenessProbe": {
                            "failureThreshold": 5,
                            "httpGet": {
                                "path": "/health",
                                "port": 8080,
                                "scheme": "HTTP"
                            },
                            "initialDelaySeconds": 60,
                            "periodSeconds": 10,
                            "successThreshold": 1,
                            "timeoutSeconds": 5
                        },
                        "name": "coredns",
                        "ports": [
                            {
                                "containerPort": 53,
                                "name": "dns",
                                "protocol": "UDP"
                            },
                            {
                                "containerPort": 53,
                                "name": "dns-tcp",
                                "protocol": "TCP"
                            },
                            {
                                "containerPort": 9153,
                                "name": "metrics",
                                "protocol": "TCP"
                            }
                        ],
                        "readinessProbe": {
                            "failureThreshold": 3,
                            "httpGet": {
                                "path": "/ready",
                                "port": 8181,
                                "scheme": "HTTP"
                            },
                            "periodSeconds": 10,
                            "successThreshold": 1,
                            "timeoutSeconds": 1
                        },
                        "resources": {
                            "limits": {
                                "memory": "170Mi"
                            },
                            "requests": {
                                "cpu": "100m",
                                "memory": "70Mi"
                            }
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "capabilities": {
                                "add": [
                                    "NET_BIND_SERVICE"
                                ],
                                "drop": [
                                    "ALL"
                                ]
                            },
                            "readOnlyRootFilesystem": true
                        },
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "volumeMounts": [
                            {
                                "mountPath": "/etc/coredns",
                                "name": "config-volume",
                                "readOnly": true
                            },
                            {
                                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                "name": "kube-api-access-6f1c2",
                                "readOnly": true
                            }
                        ]
                    }
                ],
                "dnsPolicy": "Default",
                "enableServiceLinks": true,
                "nodeName": "node-a",
                "nodeSelector": {
                    "kubernetes.io/os": "linux"
                },
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 2000000000,
                "priorityClassName": "system-cluster-critical",
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "coredns",
                "serviceAccountName": "coredns",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/not-ready",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    },
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/unreachable",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    }
                ],
                "volumes": [
                    {
                        "configMap": {
                            "defaultMode": 420,
                            "items": [
                                {
                                    "key": "Corefile",
                                    "path": "Corefile"
                                }
                            ],
                            "name": "coredns"
                        },
                        "name": "config-volume"
                    },
                    {
                        "name": "kube-api-access-6f1c2",
                        "projected": {
                            "defaultMode": 420,
                            "sources": [
                                {
                                    "serviceAccountToken": {
                                        "expirationSeconds": 3607,
                                        "path": "token"
                                    }
                                },
                                {
                                    "configMap": {
                                        "items": [
                                            {
                                                "key": "ca.crt",
                                                "path": "ca.crt"
                                            }
                                        ],
                                        "name": "kube-root-ca.crt"
                                    }
                                },
                                {
                                    "downwardAPI": {
                                        "items": [
                                            {
                                                "fieldRef": {
                                                    "apiVersion": "v1",
                                                    "fieldPath": "metadata.namespace"
                                                },
                                                "path": "namespace"
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    }
                ]
            },
            "status": {
                "conditions": [
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:02:11Z",
                        "status": "True",
                        "type": "PodReadyToStartContainers"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:02:11Z",
                        "status": "True",
                        "type": "Initialized"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:02:11Z",
                        "status": "True",
                        "type": "Ready"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:02:11Z",
                        "status": "True",
                        "type": "ContainersReady"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:02:11Z",
                        "status": "True",
                        "type": "PodScheduled"
                    }
                ],
                "containerStatuses": [
                    {
                        "containerID": "containerd://6f1c2d3e4a5b4c6d8e7f9a0b1c2d3e4f6f1c2d3e4a5b4c6d8e7f9a0b1c2d3e4f",
                        "image": "registry.k8s.io/coredns/coredns:v1.11.1",
                        "imageID": "registry.k8s.io/coredns/coredns@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "lastState": {},
                        "name": "coredns",
                        "ready": true,
                        "restartCount": 0,
                        "started": true,
                        "state": {
                            "running": {
                                "startedAt": "2024-05-01T10:02:11Z"
                            }
                        }
                    }
                ],
                "hostIP": "10.0.1.10",
                "hostIPs": [
                    {
                        "ip": "10.0.1.10"
                    },
                    {
                        "ip": "fd00:10:0:1::a"
                    }
                ],
                "phase": "Running",
                "podIP": "10.244.0.2",
                "podIPs": [
                    {
                        "ip": "10.244.0.2"
                    },
                    {
                        "ip": "fd00:10:244::2"
                    }
                ],
                "qosClass": "Burstable",
                "startTime": "2024-05-01T10:02:11Z"
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "creationTimestamp": "2024-05-01T10:02:11Z",
                "labels": {
                    "k8s-app": "kube-dns",
                    "pod-template-hash": "5dd5756b68"
                },
                "name": "coredns-5dd5756b68-l9zvt",
                "namespace": "kube-system",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "ReplicaSet",
                        "name": "coredns-5dd5756b68",
                        "uid": "5b1f8e0c-3a9d-4c2e-9f1b-7e6d5c4b3a21"
                    }
                ],
                "resourceVersion": "1187",
                "uid": "7a2b3c4d-5e6f-4a7b-9c8d-0e1f2a3b4c5d"
            },
            "spec": {
                "containers": [
                    {
                        "args": [
                            "-conf",
                            "/etc/coredns/Corefile"
                        ],
                        "image": "registry.k8s.io/coredns/coredns:v1.11.1",
                        "imagePullPolicy": "IfNotPresent",
                        "livenessProbe": {
                            "failureThreshold": 5,
                            "httpGet": {
                                "path": "/health",
                                "port": 8080,
                                "scheme": "HTTP"
                            },
                            "initialDelaySeconds": 60,
                            "periodSeconds": 10,
                            "successThreshold": 1,
                            "timeoutSeconds": 5
                        },
                        "name": "coredns",
                        "ports": [
                            {
                                "containerPort": 53,
                                "name": "dns",
                                "protocol": "UDP"
                            },
                            {
                                "containerPort": 53,
                                "name": "dns-tcp",
                                "protocol": "TCP"
                            },
                            {
                                "containerPort": 9153,
                                "name": "metrics",
                                "protocol": "TCP"
                            }
                        ],
                        "readinessProbe": {
                            "failureThreshold": 3,
                            "httpGet": {
                                "path": "/ready",
                                "port": 8181,
                                "scheme": "HTTP"
                            },
                            "periodSeconds": 10,
                            "successThreshold": 1,
                            "timeoutSeconds": 1
                        },
                        "resources": {
                            "limits": {
                                "memory": "170Mi"
                            },
                            "requests": {
                                "cpu": "100m",
                                "memory": "70Mi"
                            }
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "capabilities": {
                                "add": [
                                    "NET_BIND_SERVICE"
                                ],
                                "drop": [
                                    "ALL"
                                ]
                            },
                            "readOnlyRootFilesystem": true
                        },
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "volumeMounts": [
                            {
                                "mountPath": "/etc/coredns",
                                "name": "config-volume",
                                "readOnly": true
                            },
                            {
                                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                "name": "kube-api-access-7a2b3",
                                "readOnly": true
                            }
                        ]
                    }
                ],
                "dnsPolicy": "Default",
                "enableServiceLinks": true,
                "nodeName": "node-b",
                "nodeSelector": {
                    "kubernetes.io/os": "linux"
                },
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 2000000000,
                "priorityClassName": "system-cluster-critical",
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "coredns",
                "serviceAccountName": "coredns",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/not-ready",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    },
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/unreachable",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    }
                ],
                "volumes": [
                    {
                        "configMap": {
                            "defaultMode": 420,
                            "items": [
                                {
                                    "key": "Corefile",
                                    "path": "Corefile"
                                }
                            ],
                            "name": "coredns"
                        },
                        "name": "config-volume"
                    },
                    {
                        "name": "kube-api-access-7a2b3",
                        "projected": {
                            "defaultMode": 420,
                            "sources": [
                                {
                                    "serviceAccountToken": {
                                        "expirationSeconds": 3607,
                                        "path": "token"
                                    }
                                },
                                {
                                    "configMap": {
                                        "items": [
                                            {
                                                "key": "ca.crt",
                                                "path": "ca.crt"
                                            }
                                        ],
                                        "name": "kube-root-ca.crt"
                                    }
                                },
                                {
                                    "downwardAPI": {
                                        "items": [
                                            {
                                                "fieldRef": {
                                                    "apiVersion": "v1",
                                                    "fieldPath": "metadata.namespace"
                                                },
                                                "path": "namespace"
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    }
                ]
            },
            "status": {
                "conditions": [
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:02:11Z",
                        "status": "True",
                        "type": "PodReadyToStartContainers"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:02:11Z",
                        "status": "True",
                        "type": "Initialized"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:02:11Z",
                        "status": "True",
                        "type": "Ready"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:02:11Z",
                        "status": "True",
                        "type": "ContainersReady"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:02:11Z",
                        "status": "True",
                        "type": "PodScheduled"
                    }
                ],
                "containerStatuses": [
                    {
                        "containerID": "containerd://7a2b3c4d5e6f4a7b9c8d0e1f2a3b4c5d7a2b3c4d5e6f4a7b9c8d0e1f2a3b4c5d",
                        "image": "registry.k8s.io/coredns/coredns:v1.11.1",
                        "imageID": "registry.k8s.io/coredns/coredns@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "lastState": {},
                        "name": "coredns",
                        "ready": true,
                        "restartCount": 0,
                        "started": true,
                        "state": {
                            "running": {
                                "startedAt": "2024-05-01T10:02:11Z"
                            }
                        }
                    }
                ],
                "hostIP": "10.0.1.11",
                "hostIPs": [
                    {
                        "ip": "10.0.1.11"
                    },
                    {
                        "ip": "fd00:10:0:1::b"
                    }
                ],
                "phase": "Running",
                "podIP": "10.244.1.3",
                "podIPs": [
                    {
                        "ip": "10.244.1.3"
                    },
                    {
                        "ip": "fd00:10:244:1::3"
                    }
                ],
                "qosClass": "Burstable",
                "startTime": "2024-05-01T10:02:11Z"
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "creationTimestamp": "2024-05-01T10:01:02Z",
                "labels": {
                    "controller-revision-hash": "7f8d6c9b4",
                    "k8s-app": "kube-proxy",
                    "pod-template-generation": "1"
                },
                "name": "kube-proxy-4xj2k",
                "namespace": "kube-system",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "DaemonSet",
                        "name": "kube-proxy",
                        "uid": "a0c9e3f2-6b1d-4f7e-8a2c-9d0e1f2a3b4c"
                    }
                ],
                "resourceVersion": "612",
                "uid": "8b3c4d5e-6f7a-4b8c-8d9e-1f2a3b4c5d6e"
            },
            "spec": {
                "containers": [
                    {
                        "command": [
                            "/usr/local/bin/kube-proxy",
                            "--config=/var/lib/kube-proxy/config.conf",
                            "--hostname-override=$(NODE_NAME)"
                        ],
                        "env": [
                            {
                                "name": "NODE_NAME",
                                "valueFrom": {
                                    "fieldRef": {
                                        "apiVersion": "v1",
                                        "fieldPath": "spec.nodeName"
                                    }
                                }
                            }
                        ],
                        "image": "registry.k8s.io/kube-proxy:v1.29.4",
                        "imagePullPolicy": "IfNotPresent",
                        "name": "kube-proxy",
                        "resources": {},
                        "securityContext": {
                            "privileged": true
                        },
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "volumeMounts": [
                            {
                                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                "name": "kube-api-access-8b3c4",
                                "readOnly": true
                            }
                        ]
                    }
                ],
                "dnsPolicy": "ClusterFirstWithHostNet",
                "enableServiceLinks": true,
                "hostNetwork": true,
                "nodeName": "node-a",
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 2000001000,
                "priorityClassName": "system-node-critical",
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "kube-proxy",
                "serviceAccountName": "kube-proxy",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/not-ready",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    },
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/unreachable",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    }
                ],
                "volumes": [
                    {
                        "name": "kube-api-access-8b3c4",
                        "projected": {
                            "defaultMode": 420,
                            "sources": [
                                {
                                    "serviceAccountToken": {
                                        "expirationSeconds": 3607,
                                        "path": "token"
                                    }
                                },
                                {
                                    "configMap": {
                                        "items": [
                                            {
                                                "key": "ca.crt",
                                                "path": "ca.crt"
                                            }
                                        ],
                                        "name": "kube-root-ca.crt"
                                    }
                                },
                                {
                                    "downwardAPI": {
                                        "items": [
                                            {
                                                "fieldRef": {
                                                    "apiVersion": "v1",
                                                    "fieldPath": "metadata.namespace"
                                                },
                                                "path": "namespace"
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    }
                ]
            },
            "status": {
                "conditions": [
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:01:02Z",
                        "status": "True",
                        "type": "PodReadyToStartContainers"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:01:02Z",
                        "status": "True",
                        "type": "Initialized"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:01:02Z",
                        "status": "True",
                        "type": "Ready"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:01:02Z",
                        "status": "True",
                        "type": "ContainersReady"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:01:02Z",
                        "status": "True",
                        "type": "PodScheduled"
                    }
                ],
                "containerStatuses": [
                    {
                        "containerID": "containerd://8b3c4d5e6f7a4b8c8d9e1f2a3b4c5d6e8b3c4d5e6f7a4b8c8d9e1f2a3b4c5d6e",
                        "image": "registry.k8s.io/kube-proxy:v1.29.4",
                        "imageID": "registry.k8s.io/kube-proxy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "lastState": {},
                        "name": "kube-proxy",
                        "ready": true,
                        "restartCount": 0,
                        "started": true,
                        "state": {
                            "running": {
                                "startedAt": "2024-05-01T10:01:02Z"
                            }
                        }
                    }
                ],
                "hostIP": "10.0.1.10",
                "hostIPs": [
                    {
                        "ip": "10.0.1.10"
                    },
                    {
                        "ip": "fd00:10:0:1::a"
                    }
                ],
                "phase": "Running",
                "podIP": "10.0.1.10",
                "podIPs": [
                    {
                        "ip": "10.0.1.10"
                    },
                    {
                        "ip": "fd00:10:0:1::a"
                    }
                ],
                "qosClass": "BestEffort",
                "startTime": "2024-05-01T10:01:02Z"
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "creationTimestamp": "2024-05-01T10:01:02Z",
                "labels": {
                    "controller-revision-hash": "7f8d6c9b4",
                    "k8s-app": "kube-proxy",
                    "pod-template-generation": "1"
                },
                "name": "kube-proxy-h7r9m",
                "namespace": "kube-system",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "DaemonSet",
                        "name": "kube-proxy",
                        "uid": "a0c9e3f2-6b1d-4f7e-8a2c-9d0e1f2a3b4c"
                    }
                ],
                "resourceVersion": "612",
                "uid": "9c4d5e6f-7a8b-4c9d-9e0f-2a3b4c5d6e7f"
            },
            "spec": {
                "containers": [
                    {
                        "command": [
                            "/usr/local/bin/kube-proxy",
                            "--config=/var/lib/kube-proxy/config.conf",
                            "--hostname-override=$(NODE_NAME)"
                        ],
                        "env": [
                            {
                                "name": "NODE_NAME",
                                "valueFrom": {
                                    "fieldRef": {
                                        "apiVersion": "v1",
                                        "fieldPath": "spec.nodeName"
                                    }
                                }
                            }
                        ],
                        "image": "registry.k8s.io/kube-proxy:v1.29.4",
                        "imagePullPolicy": "IfNotPresent",
                        "name": "kube-proxy",
                        "resources": {},
                        "securityContext": {
                            "privileged": true
                        },
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "volumeMounts": [
                            {
                                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                "name": "kube-api-access-9c4d5",
                                "readOnly": true
                            }
                        ]
                    }
                ],
                "dnsPolicy": "ClusterFirstWithHostNet",
                "enableServiceLinks": true,
                "hostNetwork": true,
                "nodeName": "node-b",
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 2000001000,
                "priorityClassName": "system-node-critical",
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "kube-proxy",
                "serviceAccountName": "kube-proxy",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/not-ready",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    },
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/unreachable",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    }
                ],
                "volumes": [
                    {
                        "name": "kube-api-access-9c4d5",
                        "projected": {
                            "defaultMode": 420,
                            "sources": [
                                {
                                    "serviceAccountToken": {
                                        "expirationSeconds": 3607,
                                        "path": "token"
                                    }
                                },
                                {
                                    "configMap": {
                                        "items": [
                                            {
                                                "key": "ca.crt",
                                                "path": "ca.crt"
                                            }
                                        ],
                                        "name": "kube-root-ca.crt"
                                    }
                                },
                                {
                                    "downwardAPI": {
                                        "items": [
                                            {
                                                "fieldRef": {
                                                    "apiVersion": "v1",
                                                    "fieldPath": "metadata.namespace"
                                                },
                                                "path": "namespace"
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    }
                ]
            },
            "status": {
                "conditions": [
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:01:02Z",
                        "status": "True",
                        "type": "PodReadyToStartContainers"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:01:02Z",
                        "status": "True",
                        "type": "Initialized"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:01:02Z",
                        "status": "True",
                        "type": "Ready"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:01:02Z",
                        "status": "True",
                        "type": "ContainersReady"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T10:01:02Z",
                        "status": "True",
                        "type": "PodScheduled"
                    }
                ],
                "containerStatuses": [
                    {
                        "containerID": "containerd://9c4d5e6f7a8b4c9d9e0f2a3b4c5d6e7f9c4d5e6f7a8b4c9d9e0f2a3b4c5d6e7f",
                        "image": "registry.k8s.io/kube-proxy:v1.29.4",
                        "imageID": "registry.k8s.io/kube-proxy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "lastState": {},
                        "name": "kube-proxy",
                        "ready": true,
                        "restartCount": 0,
                        "started": true,
                        "state": {
                            "running": {
                                "startedAt": "2024-05-01T10:01:02Z"
                            }
                        }
                    }
                ],
                "hostIP": "10.0.1.11",
                "hostIPs": [
                    {
                        "ip": "10.0.1.11"
                    },
                    {
                        "ip": "fd00:10:0:1::b"
                    }
                ],
                "phase": "Running",
                "podIP": "10.0.1.11",
                "podIPs": [
                    {
                        "ip": "10.0.1.11"
                    },
                    {
                        "ip": "fd00:10:0:1::b"
                    }
                ],
                "qosClass": "BestEffort",
                "startTime": "2024-05-01T10:01:02Z"
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "creationTimestamp": "2024-05-02T08:14:31Z",
                "labels": {
                    "app": "payments-api",
                    "pod-template-hash": "6f7c8d9b5",
                    "team": "payments"
                },
                "name": "payments-api-6f7c8d9b5-q2w8e",
                "namespace": "payments",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "ReplicaSet",
                        "name": "payments-api-6f7c8d9b5",
                        "uid": "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a"
                    }
                ],
                "resourceVersion": "48210",
                "uid": "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"
            },
            "spec": {
                "containers": [
                    {
                        "image": "ghcr.io/example/payments-api:2.14.0",
                        "imagePullPolicy": "IfNotPresent",
                        "name": "api",
                        "ports": [
                            {
                                "containerPort": 8080,
                                "name": "http",
                                "protocol": "TCP"
                            }
                        ],
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "volumeMounts": [
                            {
                                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                "name": "kube-api-access-2e3f4",
                                "readOnly": true
                            }
                        ]
                    }
                ],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "nodeName": "node-a",
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 0,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "default",
                "serviceAccountName": "default",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/not-ready",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    },
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/unreachable",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    }
                ],
                "volumes": [
                    {
                        "name": "kube-api-access-2e3f4",
                        "projected": {
                            "defaultMode": 420,
                            "sources": [
                                {
                                    "serviceAccountToken": {
                                        "expirationSeconds": 3607,
                                        "path": "token"
                                    }
                                },
                                {
                                    "configMap": {
                                        "items": [
                                            {
                                                "key": "ca.crt",
                                                "path": "ca.crt"
                                            }
                                        ],
                                        "name": "kube-root-ca.crt"
                                    }
                                },
                                {
                                    "downwardAPI": {
                                        "items": [
                                            {
                                                "fieldRef": {
                                                    "apiVersion": "v1",
                                                    "fieldPath": "metadata.namespace"
                                                },
                                                "path": "namespace"
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    }
                ]
            },
            "status": {
                "conditions": [
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T08:14:31Z",
                        "status": "True",
                        "type": "PodReadyToStartContainers"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T08:14:31Z",
                        "status": "True",
                        "type": "Initialized"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T08:14:31Z",
                        "status": "True",
                        "type": "Ready"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T08:14:31Z",
                        "status": "True",
                        "type": "ContainersReady"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T08:14:31Z",
                        "status": "True",
                        "type": "PodScheduled"
                    }
                ],
                "containerStatuses": [
                    {
                        "containerID": "containerd://2e3f4a5b6c7d4e8f9a0b1c2d3e4f5a6b2e3f4a5b6c7d4e8f9a0b1c2d3e4f5a6b",
                        "image": "ghcr.io/example/payments-api:2.14.0",
                        "imageID": "ghcr.io/example/payments-api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "lastState": {},
                        "name": "api",
                        "ready": true,
                        "restartCount": 0,
                        "started": true,
                        "state": {
                            "running": {
                                "startedAt": "2024-05-02T08:14:31Z"
                            }
                        }
                    }
                ],
                "hostIP": "10.0.1.10",
                "hostIPs": [
                    {
                        "ip": "10.0.1.10"
                    },
                    {
                        "ip": "fd00:10:0:1::a"
                    }
                ],
                "phase": "Running",
                "podIP": "10.244.0.15",
                "podIPs": [
                    {
                        "ip": "10.244.0.15"
                    },
                    {
                        "ip": "fd00:10:244::f"
                    }
                ],
                "qosClass": "BestEffort",
                "startTime": "2024-05-02T08:14:31Z"
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "creationTimestamp": "2024-05-01T12:40:55Z",
                "labels": {
                    "app": "payments-db",
                    "apps.kubernetes.io/pod-index": "0",
                    "controller-revision-hash": "payments-db-5c8d7f6b9",
                    "statefulset.kubernetes.io/pod-name": "payments-db-0"
                },
                "name": "payments-db-0",
                "namespace": "payments",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "StatefulSet",
                        "name": "payments-db",
                        "uid": "3f4a5b6c-7d8e-4f9a-8b1c-2d3e4f5a6b7c"
                    }
                ],
                "resourceVersion": "47102",
                "uid": "4a5b6c7d-8e9f-4a0b-9c2d-3e4f5a6b7c8d"
            },
            "spec": {
                "containers": [
                    {
                        "image": "docker.io/library/postgres:16.2",
                        "imagePullPolicy": "IfNotPresent",
                        "name": "postgres",
                        "ports": [
                            {
                                "containerPort": 5432,
                                "name": "postgres",
                                "protocol": "TCP"
                            }
                        ],
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "volumeMounts": [
                            {
                                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                "name": "kube-api-access-4a5b6",
                                "readOnly": true
                            }
                        ]
                    }
                ],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "nodeName": "node-b",
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 0,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "default",
                "serviceAccountName": "default",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/not-ready",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    },
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/unreachable",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    }
                ],
                "volumes": [
                    {
                        "name": "kube-api-access-4a5b6",
                        "projected": {
                            "defaultMode": 420,
                            "sources": [
                                {
                                    "serviceAccountToken": {
                                        "expirationSeconds": 3607,
                                        "path": "token"
                                    }
                                },
                                {
                                    "configMap": {
                                        "items": [
                                            {
                                                "key": "ca.crt",
                                                "path": "ca.crt"
                                            }
                                        ],
                                        "name": "kube-root-ca.crt"
                                    }
                                },
                                {
                                    "downwardAPI": {
                                        "items": [
                                            {
                                                "fieldRef": {
                                                    "apiVersion": "v1",
                                                    "fieldPath": "metadata.namespace"
                                                },
                                                "path": "namespace"
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    }
                ]
            },
            "status": {
                "conditions": [
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T12:40:55Z",
                        "status": "True",
                        "type": "PodReadyToStartContainers"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T12:40:55Z",
                        "status": "True",
                        "type": "Initialized"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T12:40:55Z",
                        "status": "True",
                        "type": "Ready"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T12:40:55Z",
                        "status": "True",
                        "type": "ContainersReady"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T12:40:55Z",
                        "status": "True",
                        "type": "PodScheduled"
                    }
                ],
                "containerStatuses": [
                    {
                        "containerID": "containerd://4a5b6c7d8e9f4a0b9c2d3e4f5a6b7c8d4a5b6c7d8e9f4a0b9c2d3e4f5a6b7c8d",
                        "image": "docker.io/library/postgres:16.2",
                        "imageID": "docker.io/library/postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "lastState": {},
                        "name": "postgres",
                        "ready": true,
                        "restartCount": 0,
                        "started": true,
                        "state": {
                            "running": {
                                "startedAt": "2024-05-01T12:40:55Z"
                            }
                        }
                    }
                ],
                "hostIP": "10.0.1.11",
                "hostIPs": [
                    {
                        "ip": "10.0.1.11"
                    },
                    {
                        "ip": "fd00:10:0:1::b"
                    }
                ],
                "phase": "Running",
                "podIP": "10.244.1.30",
                "podIPs": [
                    {
                        "ip": "10.244.1.30"
                    },
                    {
                        "ip": "fd00:10:244:1::1e"
                    }
                ],
                "qosClass": "BestEffort",
                "startTime": "2024-05-01T12:40:55Z"
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "creationTimestamp": "2024-05-02T08:15:02Z",
                "labels": {
                    "app": "payments-worker",
                    "pod-template-hash": "7b9d4c6f8",
                    "team": "payments"
                },
                "name": "payments-worker-7b9d4c6f8-zx4lm",
                "namespace": "payments",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "ReplicaSet",
                        "name": "payments-worker-7b9d4c6f8",
                        "uid": "5b6c7d8e-9f0a-4b1c-8d3e-4f5a6b7c8d9e"
                    }
                ],
                "resourceVersion": "48377",
                "uid": "6c7d8e9f-0a1b-4c2d-9e4f-5a6b7c8d9e0f"
            },
            "spec": {
                "containers": [
                    {
                        "image": "ghcr.io/example/payments-worker:2.14.0",
                        "imagePullPolicy": "IfNotPresent",
                        "name": "worker",
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "volumeMounts": [
                            {
                                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                "name": "kube-api-access-6c7d8",
                                "readOnly": true
                            }
                        ]
                    }
                ],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "nodeName": "node-b",
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 0,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "default",
                "serviceAccountName": "default",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/not-ready",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    },
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/unreachable",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    }
                ],
                "volumes": [
                    {
                        "name": "kube-api-access-6c7d8",
                        "projected": {
                            "defaultMode": 420,
                            "sources": [
                                {
                                    "serviceAccountToken": {
                                        "expirationSeconds": 3607,
                                        "path": "token"
                                    }
                                },
                                {
                                    "configMap": {
                                        "items": [
                                            {
                                                "key": "ca.crt",
                                                "path": "ca.crt"
                                            }
                                        ],
                                        "name": "kube-root-ca.crt"
                                    }
                                },
                                {
                                    "downwardAPI": {
                                        "items": [
                                            {
                                                "fieldRef": {
                                                    "apiVersion": "v1",
                                                    "fieldPath": "metadata.namespace"
                                                },
                                                "path": "namespace"
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    }
                ]
            },
            "status": {
                "conditions": [
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T08:15:02Z",
                        "status": "True",
                        "type": "PodReadyToStartContainers"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T08:15:02Z",
                        "status": "True",
                        "type": "Initialized"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T08:15:02Z",
                        "status": "True",
                        "type": "Ready"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T08:15:02Z",
                        "status": "True",
                        "type": "ContainersReady"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T08:15:02Z",
                        "status": "True",
                        "type": "PodScheduled"
                    }
                ],
                "containerStatuses": [
                    {
                        "containerID": "containerd://6c7d8e9f0a1b4c2d9e4f5a6b7c8d9e0f6c7d8e9f0a1b4c2d9e4f5a6b7c8d9e0f",
                        "image": "ghcr.io/example/payments-worker:2.14.0",
                        "imageID": "ghcr.io/example/payments-worker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "lastState": {},
                        "name": "worker",
                        "ready": true,
                        "restartCount": 0,
                        "started": true,
                        "state": {
                            "running": {
                                "startedAt": "2024-05-02T08:15:02Z"
                            }
                        }
                    }
                ],
                "hostIP": "10.0.1.11",
                "hostIPs": [
                    {
                        "ip": "10.0.1.11"
                    },
                    {
                        "ip": "fd00:10:0:1::b"
                    }
                ],
                "phase": "Running",
                "podIP": "10.244.1.22",
                "podIPs": [
                    {
                        "ip": "10.244.1.22"
                    },
                    {
                        "ip": "fd00:10:244:1::16"
                    }
                ],
                "qosClass": "BestEffort",
                "startTime": "2024-05-02T08:15:02Z"
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "creationTimestamp": "2024-05-01T15:20:44Z",
                "labels": {
                    "app": "redis",
                    "apps.kubernetes.io/pod-index": "0",
                    "controller-revision-hash": "redis-6d9c8b7f5",
                    "statefulset.kubernetes.io/pod-name": "redis-0"
                },
                "name": "redis-0",
                "namespace": "sales",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "StatefulSet",
                        "name": "redis",
                        "uid": "7d8e9f0a-1b2c-4d3e-8f5a-6b7c8d9e0f1a"
                    }
                ],
                "resourceVersion": "39011",
                "uid": "8e9f0a1b-2c3d-4e4f-9a6b-7c8d9e0f1a2b"
            },
            "spec": {
                "containers": [
                    {
                        "image": "docker.io/library/redis:7.2.4",
                        "imagePullPolicy": "IfNotPresent",
                        "name": "redis",
                        "ports": [
                            {
                                "containerPort": 6379,
                                "name": "redis",
                                "protocol": "TCP"
                            }
                        ],
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "volumeMounts": [
                            {
                                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                "name": "kube-api-access-8e9f0",
                                "readOnly": true
                            }
                        ]
                    }
                ],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "nodeName": "node-a",
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 0,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "default",
                "serviceAccountName": "default",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/not-ready",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    },
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/unreachable",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    }
                ],
                "volumes": [
                    {
                        "name": "kube-api-access-8e9f0",
                        "projected": {
                            "defaultMode": 420,
                            "sources": [
                                {
                                    "serviceAccountToken": {
                                        "expirationSeconds": 3607,
                                        "path": "token"
                                    }
                                },
                                {
                                    "configMap": {
                                        "items": [
                                            {
                                                "key": "ca.crt",
                                                "path": "ca.crt"
                                            }
                                        ],
                                        "name": "kube-root-ca.crt"
                                    }
                                },
                                {
                                    "downwardAPI": {
                                        "items": [
                                            {
                                                "fieldRef": {
                                                    "apiVersion": "v1",
                                                    "fieldPath": "metadata.namespace"
                                                },
                                                "path": "namespace"
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    }
                ]
            },
            "status": {
                "conditions": [
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T15:20:44Z",
                        "status": "True",
                        "type": "PodReadyToStartContainers"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T15:20:44Z",
                        "status": "True",
                        "type": "Initialized"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T15:20:44Z",
                        "status": "True",
                        "type": "Ready"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T15:20:44Z",
                        "status": "True",
                        "type": "ContainersReady"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-01T15:20:44Z",
                        "status": "True",
                        "type": "PodScheduled"
                    }
                ],
                "containerStatuses": [
                    {
                        "containerID": "containerd://8e9f0a1b2c3d4e4f9a6b7c8d9e0f1a2b8e9f0a1b2c3d4e4f9a6b7c8d9e0f1a2b",
                        "image": "docker.io/library/redis:7.2.4",
                        "imageID": "docker.io/library/redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "lastState": {},
                        "name": "redis",
                        "ready": true,
                        "restartCount": 0,
                        "started": true,
                        "state": {
                            "running": {
                                "startedAt": "2024-05-01T15:20:44Z"
                            }
                        }
                    }
                ],
                "hostIP": "10.0.1.10",
                "hostIPs": [
                    {
                        "ip": "10.0.1.10"
                    },
                    {
                        "ip": "fd00:10:0:1::a"
                    }
                ],
                "phase": "Running",
                "podIP": "10.244.0.31",
                "podIPs": [
                    {
                        "ip": "10.244.0.31"
                    },
                    {
                        "ip": "fd00:10:244::1f"
                    }
                ],
                "qosClass": "BestEffort",
                "startTime": "2024-05-01T15:20:44Z"
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "creationTimestamp": "2024-05-02T09:41:17Z",
                "labels": {
                    "app": "sales-web",
                    "pod-template-hash": "84d5f7c9b"
                },
                "name": "sales-web-84d5f7c9b-m2n4p",
                "namespace": "sales",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "ReplicaSet",
                        "name": "sales-web-84d5f7c9b",
                        "uid": "9f0a1b2c-3d4e-4f5a-8b7c-8d9e0f1a2b3c"
                    }
                ],
                "resourceVersion": "50233",
                "uid": "0a1b2c3d-4e5f-4a6b-9c8d-9e0f1a2b3c4d"
            },
            "spec": {
                "containers": [
                    {
                        "image": "ghcr.io/example/sales-web:1.8.3",
                        "imagePullPolicy": "IfNotPresent",
                        "name": "web",
                        "ports": [
                            {
                                "containerPort": 8080,
                                "name": "http",
                                "protocol": "TCP"
                            }
                        ],
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "volumeMounts": [
                            {
                                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                "name": "kube-api-access-0a1b2",
                                "readOnly": true
                            }
                        ]
                    }
                ],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "nodeName": "node-b",
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 0,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "default",
                "serviceAccountName": "default",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/not-ready",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    },
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/unreachable",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    }
                ],
                "volumes": [
                    {
                        "name": "kube-api-access-0a1b2",
                        "projected": {
                            "defaultMode": 420,
                            "sources": [
                                {
                                    "serviceAccountToken": {
                                        "expirationSeconds": 3607,
                                        "path": "token"
                                    }
                                },
                                {
                                    "configMap": {
                                        "items": [
                                            {
                                                "key": "ca.crt",
                                                "path": "ca.crt"
                                            }
                                        ],
                                        "name": "kube-root-ca.crt"
                                    }
                                },
                                {
                                    "downwardAPI": {
                                        "items": [
                                            {
                                                "fieldRef": {
                                                    "apiVersion": "v1",
                                                    "fieldPath": "metadata.namespace"
                                                },
                                                "path": "namespace"
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    }
                ]
            },
            "status": {
                "conditions": [
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T09:41:17Z",
                        "status": "True",
                        "type": "PodReadyToStartContainers"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T09:41:17Z",
                        "status": "True",
                        "type": "Initialized"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T09:41:17Z",
                        "status": "True",
                        "type": "Ready"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T09:41:17Z",
                        "status": "True",
                        "type": "ContainersReady"
                    },
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T09:41:17Z",
                        "status": "True",
                        "type": "PodScheduled"
                    }
                ],
                "containerStatuses": [
                    {
                        "containerID": "containerd://0a1b2c3d4e5f4a6b9c8d9e0f1a2b3c4d0a1b2c3d4e5f4a6b9c8d9e0f1a2b3c4d",
                        "image": "ghcr.io/example/sales-web:1.8.3",
                        "imageID": "ghcr.io/example/sales-web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "lastState": {},
                        "name": "web",
                        "ready": true,
                        "restartCount": 0,
                        "started": true,
                        "state": {
                            "running": {
                                "startedAt": "2024-05-02T09:41:17Z"
                            }
                        }
                    }
                ],
                "hostIP": "10.0.1.11",
                "hostIPs": [
                    {
                        "ip": "10.0.1.11"
                    },
                    {
                        "ip": "fd00:10:0:1::b"
                    }
                ],
                "phase": "Running",
                "podIP": "10.244.1.41",
                "podIPs": [
                    {
                        "ip": "10.244.1.41"
                    },
                    {
                        "ip": "fd00:10:244:1::29"
                    }
                ],
                "qosClass": "BestEffort",
                "startTime": "2024-05-02T09:41:17Z"
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "creationTimestamp": "2024-05-02T09:41:17Z",
                "labels": {
                    "app": "sales-web",
                    "pod-template-hash": "84d5f7c9b"
                },
                "name": "sales-web-84d5f7c9b-r8t6v",
                "namespace": "sales",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "ReplicaSet",
                        "name": "sales-web-84d5f7c9b",
                        "uid": "9f0a1b2c-3d4e-4f5a-8b7c-8d9e0f1a2b3c"
                    }
                ],
                "resourceVersion": "50240",
                "uid": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
            },
            "spec": {
                "containers": [
                    {
                        "image": "ghcr.io/example/sales-web:1.8.3",
                        "imagePullPolicy": "IfNotPresent",
                        "name": "web",
                        "ports": [
                            {
                                "containerPort": 8080,
                                "name": "http",
                                "protocol": "TCP"
                            }
                        ],
                        "resources": {
                            "requests": {
                                "cpu": "4"
                            }
                        },
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "volumeMounts": [
                            {
                                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                                "name": "kube-api-access-1b2c3",
                                "readOnly": true
                            }
                        ]
                    }
                ],
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": true,
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 0,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": "default",
                "serviceAccountName": "default",
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/not-ready",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    },
                    {
                        "effect": "NoExecute",
                        "key": "node.kubernetes.io/unreachable",
                        "operator": "Exists",
                        "tolerationSeconds": 300
                    }
                ],
                "volumes": [
                    {
                        "name": "kube-api-access-1b2c3",
                        "projected": {
                            "defaultMode": 420,
                            "sources": [
                                {
                                    "serviceAccountToken": {
                                        "expirationSeconds": 3607,
                                        "path": "token"
                                    }
                                },
                                {
                                    "configMap": {
                                        "items": [
                                            {
                                                "key": "ca.crt",
                                                "path": "ca.crt"
                                            }
                                        ],
                                        "name": "kube-root-ca.crt"
                                    }
                                },
                                {
                                    "downwardAPI": {
                                        "items": [
                                            {
                                                "fieldRef": {
                                                    "apiVersion": "v1",
                                                    "fieldPath": "metadata.namespace"
                                                },
                                                "path": "namespace"
                                            }
                                        ]
                                    }
                                }
                            ]
                        }
                    }
                ]
            },
            "status": {
                "conditions": [
                    {
                        "lastProbeTime": null,
                        "lastTransitionTime": "2024-05-02T09:41:17Z",
                        "message": "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
                        "reason": "Unschedulable",
                        "status": "False",
                        "type": "PodScheduled"
                    }
                ],
                "phase": "Pending",
                "qosClass": "BestEffort"
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "creationTimestamp": "2024-05-01T10:00:58Z",
                "labels": {
                    "component": "apiserver",
                    "provider": "kubernetes"
                },
                "name": "kubernetes",
                "namespace": "default",
                "resourceVersion": "192",
                "uid": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"
            },
            "spec": {
                "clusterIP": "10.96.0.1",
                "clusterIPs": [
                    "10.96.0.1"
                ],
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": [
                    "IPv4"
                ],
                "ipFamilyPolicy": "SingleStack",
                "ports": [
                    {
                        "name": "https",
                        "port": 443,
                        "protocol": "TCP",
                        "targetPort": 6443
                    }
                ],
                "sessionAffinity": "None",
                "type": "ClusterIP"
            },
            "status": {
                "loadBalancer": {}
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "annotations": {
                    "prometheus.io/port": "9153",
                    "prometheus.io/scrape": "true"
                },
                "creationTimestamp": "2024-05-01T10:01:00Z",
                "labels": {
                    "k8s-app": "kube-dns",
                    "kubernetes.io/cluster-service": "true",
                    "kubernetes.io/name": "CoreDNS"
                },
                "name": "kube-dns",
                "namespace": "kube-system",
                "resourceVersion": "233",
                "uid": "d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f6a"
            },
            "spec": {
                "clusterIP": "10.96.0.10",
                "clusterIPs": [
                    "10.96.0.10",
                    "fd00:10:96::a"
                ],
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": [
                    "IPv4",
                    "IPv6"
                ],
                "ipFamilyPolicy": "PreferDualStack",
                "ports": [
                    {
                        "name": "dns",
                        "port": 53,
                        "protocol": "UDP",
                        "targetPort": 53
                    },
                    {
                        "name": "dns-tcp",
                        "port": 53,
                        "protocol": "TCP",
                        "targetPort": 53
                    },
                    {
                        "name": "metrics",
                        "port": 9153,
                        "protocol": "TCP",
                        "targetPort": 9153
                    }
                ],
                "selector": {
                    "k8s-app": "kube-dns"
                },
                "sessionAffinity": "None",
                "type": "ClusterIP"
            },
            "status": {
                "loadBalancer": {}
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "creationTimestamp": "2024-05-01T10:00:00Z",
                "labels": {
                    "app": "payments-api"
                },
                "name": "payments-api",
                "namespace": "payments",
                "resourceVersion": "40991",
                "uid": "e3f4a5b6-c7d8-4e9f-8a1b-2c3d4e5f6a7b"
            },
            "spec": {
                "clusterIP": "10.96.120.15",
                "clusterIPs": [
                    "10.96.120.15"
                ],
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": [
                    "IPv4"
                ],
                "ipFamilyPolicy": "SingleStack",
                "ports": [
                    {
                        "name": "http",
                        "port": 8080,
                        "protocol": "TCP",
                        "targetPort": "http"
                    }
                ],
                "selector": {
                    "app": "payments-api"
                },
                "sessionAffinity": "None",
                "type": "ClusterIP"
            },
            "status": {
                "loadBalancer": {}
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "creationTimestamp": "2024-05-01T10:00:00Z",
                "labels": {
                    "app": "payments-db"
                },
                "name": "payments-db",
                "namespace": "payments",
                "resourceVersion": "40112",
                "uid": "f4a5b6c7-d8e9-4f0a-9b2c-3d4e5f6a7b8c"
            },
            "spec": {
                "clusterIP": "None",
                "clusterIPs": [
                    "None"
                ],
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": [
                    "IPv4"
                ],
                "ipFamilyPolicy": "SingleStack",
                "ports": [
                    {
                        "name": "postgres",
                        "port": 5432,
                        "protocol": "TCP",
                        "targetPort": 5432
                    }
                ],
                "selector": {
                    "app": "payments-db"
                },
                "sessionAffinity": "None",
                "type": "ClusterIP"
            },
            "status": {
                "loadBalancer": {}
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "creationTimestamp": "2024-05-01T10:00:00Z",
                "labels": {
                    "app": "redis"
                },
                "name": "redis",
                "namespace": "sales",
                "resourceVersion": "39002",
                "uid": "a5b6c7d8-e9f0-4a1b-8c3d-4e5f6a7b8c9d"
            },
            "spec": {
                "clusterIP": "10.96.45.210",
                "clusterIPs": [
                    "10.96.45.210"
                ],
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": [
                    "IPv4"
                ],
                "ipFamilyPolicy": "SingleStack",
                "ports": [
                    {
                        "name": "redis",
                        "port": 6379,
                        "protocol": "TCP",
                        "targetPort": 6379
                    }
                ],
                "selector": {
                    "app": "redis"
                },
                "sessionAffinity": "None",
                "type": "ClusterIP"
            },
            "status": {
                "loadBalancer": {}
            }
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "creationTimestamp": "2024-05-01T10:00:00Z",
                "labels": {
                    "app": "sales-web"
                },
                "name": "sales-web",
                "namespace": "sales",
                "resourceVersion": "44120",
                "uid": "b6c7d8e9-f0a1-4b2c-9d4e-5f6a7b8c9d0e"
            },
            "spec": {
                "clusterIP": "10.105.33.7",
                "clusterIPs": [
                    "10.105.33.7"
                ],
                "externalTrafficPolicy": "Cluster",
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": [
                    "IPv4"
                ],
                "ipFamilyPolicy": "SingleStack",
                "ports": [
                    {
                        "name": "http",
                        "nodePort": 30080,
                        "port": 80,
                        "protocol": "TCP",
                        "targetPort": 8080
                    }
                ],
                "selector": {
                    "app": "sales-web"
                },
                "sessionAffinity": "None",
                "type": "NodePort"
            },
            "status": {
                "loadBalancer": {}
            }
        }
    ],
    "kind": "List",
    "metadata": {
        "resourceVersion": ""
    }
}
"""#

    /// `kubectl get --raw /api/v1/namespaces/monitoring/pods`: a `PodList` whose items have
    /// no `kind`, compact. node-c (10.0.1.12) runs no host-network pod; the finished backup
    /// Job pod's IP 10.244.2.9 now belongs to grafana.
    static let monitoringPodList = #"""
{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"50412"},"items":[{"metadata":{"creationTimestamp":"2024-05-02T09:00:00Z","labels":{"batch.kubernetes.io/controller-uid":"2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f","batch.kubernetes.io/job-name":"backup-28415730","job-name":"backup-28415730"},"name":"backup-28415730-7kq2n","namespace":"monitoring","resourceVersion":"50001","uid":"3d4e5f6a-7b8c-4d9e-8f1a-2b3c4d5e6f7a","ownerReferences":[{"apiVersion":"batch/v1","blockOwnerDeletion":true,"controller":true,"kind":"Job","name":"backup-28415730","uid":"2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"}]},"spec":{"containers":[{"image":"ghcr.io/example/backup:0.9.1","imagePullPolicy":"IfNotPresent","name":"backup","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","volumeMounts":[{"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","name":"kube-api-access-3d4e5","readOnly":true}]}],"dnsPolicy":"ClusterFirst","enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority","priority":0,"restartPolicy":"Never","schedulerName":"default-scheduler","securityContext":{},"serviceAccount":"default","serviceAccountName":"default","terminationGracePeriodSeconds":30,"tolerations":[{"effect":"NoExecute","key":"node.kubernetes.io/not-ready","operator":"Exists","tolerationSeconds":300},{"effect":"NoExecute","key":"node.kubernetes.io/unreachable","operator":"Exists","tolerationSeconds":300}],"volumes":[{"name":"kube-api-access-3d4e5","projected":{"defaultMode":420,"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"items":[{"key":"ca.crt","path":"ca.crt"}],"name":"kube-root-ca.crt"}},{"downwardAPI":{"items":[{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"},"path":"namespace"}]}}]}}],"nodeName":"node-c"},"status":{"phase":"Succeeded","qosClass":"BestEffort","conditions":[{"lastProbeTime":null,"lastTransitionTime":"2024-05-02T09:00:00Z","status":"True","type":"PodReadyToStartContainers"},{"lastProbeTime":null,"lastTransitionTime":"2024-05-02T09:00:00Z","status":"True","type":"Initialized"},{"lastProbeTime":null,"lastTransitionTime":"2024-05-02T09:00:00Z","status":"True","type":"Ready"},{"lastProbeTime":null,"lastTransitionTime":"2024-05-02T09:00:00Z","status":"True","type":"ContainersReady"},{"lastProbeTime":null,"lastTransitionTime":"2024-05-02T09:00:00Z","status":"True","type":"PodScheduled"}],"containerStatuses":[{"containerID":"containerd://3d4e5f6a7b8c4d9e8f1a2b3c4d5e6f7a3d4e5f6a7b8c4d9e8f1a2b3c4d5e6f7a","image":"ghcr.io/example/backup:0.9.1","imageID":"ghcr.io/example/backup@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","lastState":{},"name":"backup","ready":false,"restartCount":0,"started":false,"state":{"terminated":{"containerID":"containerd://3d4e5f6a7b8c4d9e8f1a2b3c4d5e6f7a3d4e5f6a7b8c4d9e8f1a2b3c4d5e6f7a","exitCode":0,"finishedAt":"2024-05-02T09:00:07Z","reason":"Completed","startedAt":"2024-05-02T09:00:00Z"}}}],"startTime":"2024-05-02T09:00:00Z","hostIP":"10.0.1.12","hostIPs":[{"ip":"10.0.1.12"}],"podIP":"10.244.2.9","podIPs":[{"ip":"10.244.2.9"}]}},{"metadata":{"creationTimestamp":"2024-05-02T09:10:02Z","labels":{"app.kubernetes.io/name":"grafana","pod-template-hash":"7c9f8d6b5"},"name":"grafana-7c9f8d6b5-2kq4z","namespace":"monitoring","resourceVersion":"50340","uid":"5f6a7b8c-9d0e-4f1a-8b3c-4d5e6f7a8b9c","ownerReferences":[{"apiVersion":"apps/v1","blockOwnerDeletion":true,"controller":true,"kind":"ReplicaSet","name":"grafana-7c9f8d6b5","uid":"4e5f6a7b-8c9d-4e0f-9a2b-3c4d5e6f7a8b"}]},"spec":{"containers":[{"image":"docker.io/grafana/grafana:10.4.2","imagePullPolicy":"IfNotPresent","name":"grafana","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","volumeMounts":[{"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","name":"kube-api-access-5f6a7","readOnly":true}],"ports":[{"containerPort":3000,"protocol":"TCP","name":"http"}]}],"dnsPolicy":"ClusterFirst","enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority","priority":0,"restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"serviceAccount":"default","serviceAccountName":"default","terminationGracePeriodSeconds":30,"tolerations":[{"effect":"NoExecute","key":"node.kubernetes.io/not-ready","operator":"Exists","tolerationSeconds":300},{"effect":"NoExecute","key":"node.kubernetes.io/unreachable","operator":"Exists","tolerationSeconds":300}],"volumes":[{"name":"kube-api-access-5f6a7","projected":{"defaultMode":420,"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"items":[{"key":"ca.crt","path":"ca.crt"}],"name":"kube-root-ca.crt"}},{"downwardAPI":{"items":[{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"},"path":"namespace"}]}}]}}],"nodeName":"node-c"},"status":{"phase":"Running","qosClass":"BestEffort","conditions":[{"lastProbeTime":null,"lastTransitionTime":"2024-05-02T09:10:02Z","status":"True","type":"PodReadyToStartContainers"},{"lastProbeTime":null,"lastTransitionTime":"2024-05-02T09:10:02Z","status":"True","type":"Initialized"},{"lastProbeTime":null,"lastTransitionTime":"2024-05-02T09:10:02Z","status":"True","type":"Ready"},{"lastProbeTime":null,"lastTransitionTime":"2024-05-02T09:10:02Z","status":"True","type":"ContainersReady"},{"lastProbeTime":null,"lastTransitionTime":"2024-05-02T09:10:02Z","status":"True","type":"PodScheduled"}],"containerStatuses":[{"containerID":"containerd://5f6a7b8c9d0e4f1a8b3c4d5e6f7a8b9c5f6a7b8c9d0e4f1a8b3c4d5e6f7a8b9c","image":"docker.io/grafana/grafana:10.4.2","imageID":"docker.io/grafana/grafana@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","lastState":{},"name":"grafana","ready":true,"restartCount":0,"started":true,"state":{"running":{"startedAt":"2024-05-02T09:10:02Z"}}}],"startTime":"2024-05-02T09:10:02Z","hostIP":"10.0.1.12","hostIPs":[{"ip":"10.0.1.12"}],"podIP":"10.244.2.9","podIPs":[{"ip":"10.244.2.9"}]}},{"metadata":{"creationTimestamp":"2024-05-01T18:30:12Z","labels":{"app.kubernetes.io/name":"prometheus","statefulset.kubernetes.io/pod-name":"prometheus-k8s-0"},"name":"prometheus-k8s-0","namespace":"monitoring","resourceVersion":"49870","uid":"7b8c9d0e-1f2a-4b3c-8d5e-6f7a8b9c0d1e","ownerReferences":[{"apiVersion":"apps/v1","blockOwnerDeletion":true,"controller":true,"kind":"StatefulSet","name":"prometheus-k8s","uid":"6a7b8c9d-0e1f-4a2b-9c4d-5e6f7a8b9c0d"}]},"spec":{"containers":[{"image":"quay.io/prometheus/prometheus:v2.51.2","imagePullPolicy":"IfNotPresent","name":"prometheus","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","volumeMounts":[{"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","name":"kube-api-access-7b8c9","readOnly":true}],"ports":[{"containerPort":9090,"protocol":"TCP","name":"web"}]}],"dnsPolicy":"ClusterFirst","enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority","priority":0,"restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"serviceAccount":"default","serviceAccountName":"default","terminationGracePeriodSeconds":30,"tolerations":[{"effect":"NoExecute","key":"node.kubernetes.io/not-ready","operator":"Exists","tolerationSeconds":300},{"effect":"NoExecute","key":"node.kubernetes.io/unreachable","operator":"Exists","tolerationSeconds":300}],"volumes":[{"name":"kube-api-access-7b8c9","projected":{"defaultMode":420,"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},{"configMap":{"items":[{"key":"ca.crt","path":"ca.crt"}],"name":"kube-root-ca.crt"}},{"downwardAPI":{"items":[{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"},"path":"namespace"}]}}]}}],"nodeName":"node-c"},"status":{"phase":"Running","qosClass":"BestEffort","conditions":[{"lastProbeTime":null,"lastTransitionTime":"2024-05-01T18:30:12Z","status":"True","type":"PodReadyToStartContainers"},{"lastProbeTime":null,"lastTransitionTime":"2024-05-01T18:30:12Z","status":"True","type":"Initialized"},{"lastProbeTime":null,"lastTransitionTime":"2024-05-01T18:30:12Z","status":"True","type":"Ready"},{"lastProbeTime":null,"lastTransitionTime":"2024-05-01T18:30:12Z","status":"True","type":"ContainersReady"},{"lastProbeTime":null,"lastTransitionTime":"2024-05-01T18:30:12Z","status":"True","type":"PodScheduled"}],"containerStatuses":[{"containerID":"containerd://7b8c9d0e1f2a4b3c8d5e6f7a8b9c0d1e7b8c9d0e1f2a4b3c8d5e6f7a8b9c0d1e","image":"quay.io/prometheus/prometheus:v2.51.2","imageID":"quay.io/prometheus/prometheus@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","lastState":{},"name":"prometheus","ready":true,"restartCount":0,"started":true,"state":{"running":{"startedAt":"2024-05-01T18:30:12Z"}}}],"startTime":"2024-05-01T18:30:12Z","hostIP":"10.0.1.12","hostIPs":[{"ip":"10.0.1.12"}],"podIP":"10.244.2.5","podIPs":[{"ip":"10.244.2.5"}]}}]}
"""#

    /// `kubectl get svc,endpointslices,endpoints,cm -n kube-system -o json` on EKS (no pods):
    /// kube-dns 172.20.0.10, its EndpointSlice and Endpoints naming the two CoreDNS pods
    /// (one not ready), and the coredns ConfigMap.
    static let eksKubeSystemDNS = #"""
{
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "annotations": {
                    "prometheus.io/port": "9153",
                    "prometheus.io/scrape": "true"
                },
                "creationTimestamp": "2024-05-01T10:00:00Z",
                "labels": {
                    "eks.amazonaws.com/component": "kube-dns",
                    "k8s-app": "kube-dns",
                    "kubernetes.io/cluster-service": "true",
                    "kubernetes.io/name": "CoreDNS"
                },
                "name": "kube-dns",
                "namespace": "kube-system",
                "resourceVersion": "276",
                "uid": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
            },
            "spec": {
                "clusterIP": "172.20.0.10",
                "clusterIPs": [
                    "172.20.0.10"
                ],
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": [
                    "IPv4"
                ],
                "ipFamilyPolicy": "SingleStack",
                "ports": [
                    {
                        "name": "dns",
                        "port": 53,
                        "protocol": "UDP",
                        "targetPort": 53
                    },
                    {
                        "name": "dns-tcp",
                        "port": 53,
                        "protocol": "TCP",
                        "targetPort": 53
                    },
                    {
                        "name": "metrics",
                        "port": 9153,
                        "protocol": "TCP",
                        "targetPort": 9153
                    }
                ],
                "selector": {
                    "k8s-app": "kube-dns"
                },
                "sessionAffinity": "None",
                "type": "ClusterIP"
            },
            "status": {
                "loadBalancer": {}
            }
        },
        {
            "addressType": "IPv4",
            "apiVersion": "discovery.k8s.io/v1",
            "endpoints": [
                {
                    "addresses": [
                        "192.168.12.34"
                    ],
                    "conditions": {
                        "ready": true,
                        "serving": true,
                        "terminating": false
                    },
                    "nodeName": "ip-192-168-10-20.eu-west-1.compute.internal",
                    "targetRef": {
                        "kind": "Pod",
                        "name": "coredns-7975d6fb9b-2kq9x",
                        "namespace": "kube-system",
                        "uid": "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f50"
                    },
                    "zone": "eu-west-1a"
                },
                {
                    "addresses": [
                        "192.168.45.6"
                    ],
                    "conditions": {
                        "ready": false,
                        "serving": false,
                        "terminating": false
                    },
                    "nodeName": "ip-192-168-40-11.eu-west-1.compute.internal",
                    "targetRef": {
                        "kind": "Pod",
                        "name": "coredns-7975d6fb9b-wp4lx",
                        "namespace": "kube-system",
                        "uid": "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f51"
                    },
                    "zone": "eu-west-1b"
                }
            ],
            "kind": "EndpointSlice",
            "metadata": {
                "annotations": {
                    "endpoints.kubernetes.io/last-change-trigger-time": "2024-05-02T07:58:40Z"
                },
                "creationTimestamp": "2024-04-11T13:22:05Z",
                "generateName": "kube-dns-",
                "generation": 41,
                "labels": {
                    "eks.amazonaws.com/component": "kube-dns",
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                    "k8s-app": "kube-dns",
                    "kubernetes.io/cluster-service": "true",
                    "kubernetes.io/name": "CoreDNS",
                    "kubernetes.io/service-name": "kube-dns"
                },
                "name": "kube-dns-x7k2p",
                "namespace": "kube-system",
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "blockOwnerDeletion": true,
                        "controller": true,
                        "kind": "Service",
                        "name": "kube-dns",
                        "uid": "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
                    }
                ],
                "resourceVersion": "88123",
                "uid": "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"
            },
            "ports": [
                {
                    "name": "dns-tcp",
                    "port": 53,
                    "protocol": "TCP"
                },
                {
                    "name": "dns",
                    "port": 53,
                    "protocol": "UDP"
                },
                {
                    "name": "metrics",
                    "port": 9153,
                    "protocol": "TCP"
                }
            ]
        },
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "annotations": {
                    "endpoints.kubernetes.io/last-change-trigger-time": "2024-05-02T07:58:40Z"
                },
                "creationTimestamp": "2024-04-11T13:22:05Z",
                "labels": {
                    "eks.amazonaws.com/component": "kube-dns",
                    "k8s-app": "kube-dns",
                    "kubernetes.io/cluster-service": "true",
                    "kubernetes.io/name": "CoreDNS"
                },
                "name": "kube-dns",
                "namespace": "kube-system",
                "resourceVersion": "88124",
                "uid": "3f4a5b6c-7d8e-4f9a-8b1c-2d3e4f5a6b7c"
            },
            "subsets": [
                {
                    "addresses": [
                        {
                            "ip": "192.168.12.34",
                            "nodeName": "ip-192-168-10-20.eu-west-1.compute.internal",
                            "targetRef": {
                                "kind": "Pod",
                                "name": "coredns-7975d6fb9b-2kq9x",
                                "namespace": "kube-system",
                                "uid": "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f50"
                            }
                        }
                    ],
                    "notReadyAddresses": [
                        {
                            "ip": "192.168.45.6",
                            "nodeName": "ip-192-168-40-11.eu-west-1.compute.internal",
                            "targetRef": {
                                "kind": "Pod",
                                "name": "coredns-7975d6fb9b-wp4lx",
                                "namespace": "kube-system",
                                "uid": "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f51"
                            }
                        }
                    ],
                    "ports": [
                        {
                            "name": "dns-tcp",
                            "port": 53,
                            "protocol": "TCP"
                        },
                        {
                            "name": "dns",
                            "port": 53,
                            "protocol": "UDP"
                        },
                        {
                            "name": "metrics",
                            "port": 9153,
                            "protocol": "TCP"
                        }
                    ]
                }
            ]
        },
        {
            "apiVersion": "v1",
            "data": {
                "Corefile": ".:53 {\n    errors\n    health {\n        lameduck 5s\n      }\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n      pods insecure\n      fallthrough in-addr.arpa ip6.arpa\n    }\n    prometheus :9153\n    forward . /etc/resolv.conf\n    cache 30\n    loop\n    reload\n    loadbalance\n}\n"
            },
            "kind": "ConfigMap",
            "metadata": {
                "creationTimestamp": "2024-04-11T13:22:04Z",
                "labels": {
                    "eks.amazonaws.com/component": "coredns",
                    "k8s-app": "kube-dns"
                },
                "name": "coredns",
                "namespace": "kube-system",
                "resourceVersion": "1290",
                "uid": "4a5b6c7d-8e9f-4a0b-9c2d-3e4f5a6b7c8d"
            }
        }
    ],
    "kind": "List",
    "metadata": {
        "resourceVersion": ""
    }
}
"""#
}

import DNSWire
import FuzzSupport

/// Bytes → `DNSMessageSummary(parsing:)` and `DNSMessage(parsing:)`.
///
/// Neither may trap, and they must agree, as `MessageWalker` promises (both are one walk):
/// - the summary throws exactly when the message throws, with the same error, and the
///   summary without body validation throws that error too;
/// - otherwise the message parses exactly when the summary has no body error (or only
///   trailing bytes), and throws the summary's body error when it has one;
/// - header, first question, RCODE and EDNS agree; the question's name hash and length
///   match the decoded name.
/// Every `description` is rendered, and every name must read back from its own
/// presentation form (RFC 1035 §5.1 escapes) as an equal name with the same hash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    checkParsers(bytes)
    return 0
}

func checkParsers(_ bytes: UnsafeRawBufferPointer) {
    let message = Result { () throws(DNSParseError) in try DNSMessage(parsing: bytes) }
    let summary = Result { () throws(DNSParseError) in try DNSMessageSummary(parsing: bytes) }
    let quick = Result { () throws(DNSParseError) in try DNSMessageSummary(parsing: bytes, validateBody: false) }
    switch (summary, message) {
    case (.failure(let summaryError), .failure(let messageError)):
        fuzzExpect(summaryError == messageError, "summary threw \(summaryError), message threw \(messageError)")
        if case .failure(let quickError) = quick {
            fuzzExpect(quickError == summaryError, "quick summary threw \(quickError), summary \(summaryError)")
        } else {
            fuzzExpect(false, "quick summary parsed, summary threw \(summaryError)")
        }
        _ = summaryError.description
    case (.failure(let error), .success):
        fuzzExpect(false, "summary threw \(error), message parsed")
    case (.success(let summary), let message):
        guard case .success(let quick) = quick else {
            fuzzExpect(false, "quick summary threw, summary parsed")
            return
        }
        fuzzExpect(quick.header == summary.header && quick.question == summary.question,
                   "quick summary \(quick) vs summary \(summary)")
        if let question = summary.question {
            let name = Result { () throws(DNSParseError) in try question.name(in: bytes) }
            guard case .success(let name) = name else {
                fuzzExpect(false, "summary question name does not decode: \(name)")
                return
            }
            fuzzExpect(name.hashKey == question.nameHash && name.wireLength == question.nameWireLength,
                       "question name \(name) vs its summary \(question)")
            checkName(name)
        }
        var trailing = 0
        if case .trailingBytes(let count)? = summary.bodyError?.code { trailing = count }
        _ = summary.bodyError?.description
        switch (summary.bodyError, message) {
        case (let bodyError, .success(let message)) where bodyError == nil || trailing > 0:
            fuzzExpect(message.header == summary.header, "headers differ")
            fuzzExpect(message.questions.first?.name.hashKey == summary.question?.nameHash, "first question differs")
            fuzzExpect(message.rcode == summary.rcode, "rcode \(message.rcode) vs \(summary.rcode)")
            fuzzExpect(message.edns?.udpPayloadSize == summary.edns?.udpPayloadSize, "EDNS differs")
            fuzzExpect(message.trailingByteCount == trailing, "trailing \(message.trailingByteCount) vs \(trailing)")
            fuzzExpect(message.questions.count == Int(message.header.questionCount), "question count")
            fuzzExpect(message.answers.count == Int(message.header.answerCount), "answer count")
            fuzzExpect(message.authorities.count == Int(message.header.authorityCount), "authority count")
            fuzzExpect(message.additionals.count == Int(message.header.additionalCount), "additional count")
            checkMessage(message)
        case (let bodyError?, .failure(let messageError)) where trailing == 0:
            fuzzExpect(bodyError == messageError, "summary body error \(bodyError) vs message \(messageError)")
        default:
            fuzzExpect(false, "summary body error \(String(describing: summary.bodyError)) vs message \(message)")
        }
    }
}

/// Every description must render; every decoded name must survive a presentation round trip.
func checkMessage(_ message: DNSMessage) {
    for question in message.questions {
        _ = question.description
        checkName(question.name)
    }
    for record in message.answers + message.authorities + message.additionals {
        _ = record.description
        checkName(record.name)
        switch record.data {
        case .cname(let name), .ns(let name), .ptr(let name), .mx(_, let name), .srv(_, _, _, let name):
            checkName(name)
        case .soa(let mname, let rname, _, _, _, _, _):
            checkName(mname)
            checkName(rname)
        case .opt(let edns):
            for option in edns.options {
                _ = option.description
                // The walk validated client subnet and cookie bodies: their views must decode.
                if option.code == EDNSOption.clientSubnetCode {
                    fuzzExpect(option.clientSubnet != nil, "validated client subnet does not decode: \(option.data)")
                }
                if option.code == EDNSOption.cookieCode {
                    fuzzExpect(option.cookie != nil, "validated cookie does not decode: \(option.data)")
                }
            }
        default:
            break
        }
    }
    _ = message.edns?.description
}

func checkName(_ name: DNSName) {
    fuzzExpect(name.wireLength <= DNSName.maximumWireLength, "name over 255 octets: \(name.wireLength)")
    let text = name.description
    guard let back = DNSName(text) else {
        fuzzExpect(false, "presentation form \(text) of \(name.wireBytes) does not parse back")
        return
    }
    fuzzExpect(back == name && back.wireBytes == name.wireBytes && back.hashKey == name.hashKey,
               "round trip of \(name.wireBytes) through \(text) gave \(back.wireBytes)")
    fuzzExpect(name.labels.count == name.labelCount, "label count")
    fuzzExpect(name.isSubdomain(of: name) && name.isSubdomain(of: .root), "name not below itself or the root")
}

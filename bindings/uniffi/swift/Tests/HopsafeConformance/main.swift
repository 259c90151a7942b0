// The Swift conformance runners (tests/conformance/PROTOCOL.md), one executable:
// `hopsafe-conformance [COLUMN] SERVER_READY_JSON SCENARIOS_JSON OUT_JSON`; each input is JSON
// text or a file. COLUMN is `swift` (the default: hopsafe's own API), `swift-urlrequest`
// (URLRequest through `data(for:)`/`bytes(for:)`) or `peer:swift-urlsession` (URLSession alone).

import Foundation

let columns: [String: (Play, inout [String: Any]) async -> Void] = [
    "swift": playNative,
    "swift-urlrequest": playURLRequest,
    "peer:swift-urlsession": playURLSession,
]

var args = Array(CommandLine.arguments.dropFirst())
let name = args.count == 4 ? args.removeFirst() : "swift"
guard args.count == 3, let column = columns[name] else {
    FileHandle.standardError.write(Data(
        "usage: hopsafe-conformance [swift|swift-urlrequest|peer:swift-urlsession] SERVER_READY_JSON SCENARIOS_JSON OUT_JSON\n".utf8))
    exit(2)
}
do {
    try await runColumn(name, args, column)
} catch {
    FileHandle.standardError.write(Data("hopsafe-conformance: \(error)\n".utf8))
    exit(1)
}

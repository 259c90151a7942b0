// The peer `swift-urlsession`: Foundation's URLSession alone (an ephemeral session, its own
// redirect handling), for comparison. Features it does not have (trusted origins, keys, replay
// limits, retries) are not set. A task delegate records each redirect as the history.
//
// TLS scenarios are skipped: on Linux, URLSession (libcurl) only trusts the system store, and
// neither a session delegate (no server-trust challenge there) nor an environment variable
// (`URLSessionCertificateAuthorityInfoFile` is read on Android only) can add the test CA.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hopsafe

/// Collects one task's redirects, body and outcome.
final class PeerTask: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let follow: Bool
    var hops: [[String: Any]] = []
    var body = Data()
    private var done: CheckedContinuation<Error?, Never>?
    private var finished: Error??
    private let lock = NSLock()

    init(follow: Bool) { self.follow = follow }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        hops.append(["method": task.currentRequest?.httpMethod ?? "GET",
                     "url": response.url?.absoluteString ?? "", "status": response.statusCode])
        completionHandler(follow ? request : nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        body.append(data)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        let waiting = done
        if waiting == nil { finished = .some(error) }
        lock.unlock()
        waiting?.resume(returning: error)
    }

    /// Runs `task` and waits for it to complete.
    func run(_ task: URLSessionTask) async -> Error? {
        await withCheckedContinuation { c in
            lock.lock()
            if let finished {
                lock.unlock()
                c.resume(returning: finished)
                return
            }
            done = c
            lock.unlock()
            task.resume()
        }
    }
}

/// The core error name closest to a URLError, for the checker.
func peerError(_ error: Error) -> String {
    guard let e = error as? URLError else { return "\(type(of: error)) (urlsession)" }
    switch e.code {
    case .timedOut: return "Timeout"
    case .cannotConnectToHost, .cannotFindHost: return "Connect"
    case .httpTooManyRedirects, .redirectToNonExistentLocation: return "TooManyRedirects"
    case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
         .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected:
        return "Tls"
    case .networkConnectionLost, .badServerResponse, .cannotParseResponse, .zeroByteResource:
        return "Transport"
    case .unsupportedURL: return "UnsupportedScheme"
    default: return "URLError(\(e.code.rawValue)) (urlsession)"
    }
}

/// Whether the scenario reaches an https origin (directly or by a redirect to one).
func reachesTLS(_ p: Play) -> Bool {
    let text = (try? JSONSerialization.data(withJSONObject: p.scenario)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    return p.url.hasPrefix("https:")
        || p.origins.contains { $0.value.hasPrefix("https:") && text.contains("{\($0.key)}") }
}

func playURLSession(_ p: Play, _ obs: inout [String: Any]) async {
    if reachesTLS(p) {
        obs["skipped"] = "URLSession on Linux cannot trust the test CA (libcurl reads the system store only)"
        return
    }
    if p.r["stream"] as? Bool == true {
        obs["skipped"] = "not compared"
        return
    }
    let (req, skipped) = request(p.r, url: p.url)
    guard let req else {
        obs["skipped"] = skipped
        return
    }
    let spec = p.scenario["client"] as? [String: Any] ?? [:]
    let follow = req.followRedirects ?? (spec["follow_redirects"] as? Bool ?? true)
    let peer = PeerTask(follow: follow)
    let session = URLSession(configuration: .ephemeral, delegate: peer, delegateQueue: nil)
    defer { session.finishTasksAndInvalidate() }
    let task = session.dataTask(with: urlRequest(req, streamed: false))
    if let error = await peer.run(task) {
        obs["error"] = peerError(error)
        obs["history"] = peer.hops
        return
    }
    guard let resp = task.response as? HTTPURLResponse else {
        obs["error"] = "no response (urlsession)"
        return
    }
    recordHead(&obs, status: resp.statusCode, url: resp.url?.absoluteString ?? "",
               method: task.currentRequest?.httpMethod ?? req.method, key: nil, hops: peer.hops)
    var seen = BodySeen()
    seen.add(peer.body)
    obs["body"] = seen.json
}

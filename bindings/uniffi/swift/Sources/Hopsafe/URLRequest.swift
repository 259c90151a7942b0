// Hand-written addition to the generated Hopsafe module: URLSession's shapes on a hopsafe
// client, so code written against `URLSession.data(for:)` / `bytes(for:)` moves over by
// changing the receiver. A translation only: every decision (redirects, credentials, keys,
// retries) is the client's.
//
// - `URLRequest` → hopsafe: `httpMethod` (GET when unset), `url`, `allHTTPHeaderFields`,
//   `httpBody`, and `httpBodyStream`, read to its end while the request is sent (hopsafe keeps
//   a copy up to the client's `replayLimit`; a 307/308 or retry that needs more fails with
//   `BodyNotReplayable`, never a truncated resend). `timeoutInterval`, `cachePolicy` and the
//   cookie and cellular switches are not read: the client's configuration governs them
//   (URLRequest always carries a 60 s `timeoutInterval`, so it cannot say "not set").
// - What URLRequest has no field for (the idempotency key, redirect and timeout overrides,
//   retries) goes in `options`.
// - The response is a `HopsafeURLResponse`, an `HTTPURLResponse` whose `url` is the final URL
//   and which also carries hopsafe's `history`, `idempotencyKey`, final `method` and `attempts`.
// - Errors are thrown as `HopsafeError`, not `URLError`: URLError's codes would invite the
//   wrong reaction (a `.timedOut` or `.networkConnectionLost` write looks safe to resend, while
//   hopsafe's `writeAccepted`, `history` and case say whether it is), and burying the hopsafe
//   error in `userInfo` would hide exactly that. Cancelling the Task throws `.Cancelled`.

import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Per-request hopsafe options that `URLRequest` has no field for; `nil` = the client's default.
public struct URLRequestOptions {
    /// The idempotency key (`.auto` when nil: a key for POST and PATCH by default).
    public var idempotencyKey: IdempotencyKey?
    /// Follow redirects.
    public var followRedirects: Bool?
    /// Maximum redirects, 0 = never follow.
    public var maxRedirects: UInt32?
    /// Total deadline in milliseconds.
    public var timeoutMs: UInt64?
    /// Retry policy.
    public var retry: RetryConfig?

    public init(
        idempotencyKey: IdempotencyKey? = nil,
        followRedirects: Bool? = nil,
        maxRedirects: UInt32? = nil,
        timeoutMs: UInt64? = nil,
        retry: RetryConfig? = nil
    ) {
        self.idempotencyKey = idempotencyKey
        self.followRedirects = followRedirects
        self.maxRedirects = maxRedirects
        self.timeoutMs = timeoutMs
        self.retry = retry
    }
}

extension HopsafeClient {
    /// Sends `request` like `URLSession.data(for:)`: follows redirects and retries as this
    /// client is configured and returns the whole body with the final response. Throws
    /// `HopsafeError`; cancelling the calling Task cancels the request.
    public func data(
        for request: URLRequest, options: URLRequestOptions = URLRequestOptions()
    ) async throws -> (Data, HopsafeURLResponse) {
        let (req, stream) = Self.translate(request, options)
        let resp: HttpResponse
        if let stream {
            resp = try await sendStreaming(req, body: InputStreamSource(stream))
        } else {
            resp = try await send(req)
        }
        let head = try HopsafeURLResponse.make(
            url: resp.url, status: resp.status, headers: resp.headers, method: resp.method,
            history: resp.history, idempotencyKey: resp.idempotencyKey, attempts: resp.attempts)
        return (resp.body, head)
    }

    /// Sends `request` like `URLSession.bytes(for:)`: returns once the final response head is
    /// in, with the body to read as it arrives (`for try await byte in bytes`, or faster
    /// `bytes.chunks` of `Data`, or `bytes.lines`). Throws `HopsafeError`; cancelling the Task
    /// or leaving the loop early aborts the transfer.
    public func bytes(
        for request: URLRequest, options: URLRequestOptions = URLRequestOptions()
    ) async throws -> (HopsafeAsyncBytes, HopsafeURLResponse) {
        let (req, stream) = Self.translate(request, options)
        let resp: StreamedResponse
        if let stream {
            let source = InputStreamSource(stream)
            resp = try await cancellable { handle in
                try await self.openStreaming(request: req, body: source, cancel: handle)
            }
        } else {
            resp = try await self.stream(req)
        }
        let head = try HopsafeURLResponse.make(
            url: resp.url, status: resp.status, headers: resp.headers, method: resp.method,
            history: resp.history, idempotencyKey: resp.idempotencyKey, attempts: resp.attempts)
        return (HopsafeAsyncBytes(chunks: resp.body), head)
    }

    /// The hopsafe request for `request`, and its body stream if it has one.
    static func translate(_ request: URLRequest, _ options: URLRequestOptions) -> (HttpRequest, InputStream?) {
        // A missing URL becomes "", which hopsafe refuses with `InvalidUrl`.
        var req = HttpRequest(method: request.httpMethod ?? "GET", url: request.url?.absoluteString ?? "")
        req.headers = (request.allHTTPHeaderFields ?? [:])
            .sorted { $0.key < $1.key }
            .map { Header(name: $0.key, value: $0.value) }
        req.body = request.httpBody
        req.idempotencyKey = options.idempotencyKey
        req.followRedirects = options.followRedirects
        req.maxRedirects = options.maxRedirects
        req.timeoutMs = options.timeoutMs
        req.retry = options.retry
        return (req, request.httpBody == nil ? request.httpBodyStream : nil)
    }
}

/// The final response of a hopsafe call as an `HTTPURLResponse`, with hopsafe's own facts.
public final class HopsafeURLResponse: HTTPURLResponse, @unchecked Sendable {
    /// Every redirect followed, oldest first (with the headers dropped on each hop, and why).
    public private(set) var history: [Hop] = []
    /// The `Idempotency-Key` the final request carried, if any (the same on every hop and retry).
    public private(set) var idempotencyKey: String?
    /// The method of the final request (GET after a 303, the original after a 307/308).
    public private(set) var method = "GET"
    /// Attempts made for the final request (1 without retries).
    public private(set) var attempts: UInt32 = 1

    init?(url: URL, status: Int, headerFields: [String: String]) {
        super.init(url: url, statusCode: status, httpVersion: nil, headerFields: headerFields)
    }

    public required init?(coder: NSCoder) {
        super.init(coder: coder)
    }

    // swiftlint:disable:next function_parameter_count
    static func make(
        url: String, status: UInt16, headers: [Header], method: String,
        history: [Hop], idempotencyKey: String?, attempts: UInt32
    ) throws -> HopsafeURLResponse {
        // Repeated fields are joined with ", ", as URLSession does.
        var fields: [String: String] = [:]
        for h in headers {
            fields[h.name] = fields[h.name].map { "\($0), \(h.value)" } ?? h.value
        }
        guard let parsed = URL(string: url),
              let resp = HopsafeURLResponse(url: parsed, status: Int(status), headerFields: fields)
        else {
            throw HopsafeError.InvalidUrl(
                detail: "the final URL cannot be a Foundation URL", url: url, history: history, writeAccepted: false)
        }
        resp.history = history
        resp.idempotencyKey = idempotencyKey
        resp.method = method
        resp.attempts = attempts
        return resp
    }
}

/// A response body as bytes, like `URLSession.AsyncBytes`; `chunks` reads it a `Data` at a time.
public struct HopsafeAsyncBytes: AsyncSequence {
    public typealias Element = UInt8

    /// The body as chunks of `Data` (what the bytes are read from; read one or the other).
    public let chunks: ResponseBody

    /// The body as lines of UTF-8 text.
    public var lines: ResponseBodyLines { chunks.lines }

    /// Reads byte by byte from the chunks; dropping it before the end aborts the transfer.
    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var inner: ResponseBody.AsyncIterator
        fileprivate var current = Data()
        fileprivate var index = 0

        public mutating func next() async throws -> UInt8? {
            while index >= current.endIndex {
                guard let chunk = try await inner.next() else { return nil }
                current = chunk
                index = chunk.startIndex
            }
            defer { index += 1 }
            return current[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: chunks.makeAsyncIterator())
    }
}

/// A `BodySource` over an `InputStream`, read on hopsafe's background thread.
final class InputStreamSource: BodySource, @unchecked Sendable {
    private let stream: InputStream
    private var opened = false
    private let lock = NSLock()

    init(_ stream: InputStream) { self.stream = stream }

    func read() throws -> Data? {
        lock.lock()
        defer { lock.unlock() }
        if !opened {
            stream.open()
            opened = true
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = stream.read(&buffer, maxLength: buffer.count)
        if n > 0 { return Data(buffer[0..<n]) }
        stream.close()
        if n == 0 { return nil }
        throw HopsafeError.BodyStream(
            detail: "reading httpBodyStream failed: \(stream.streamError.map { "\($0)" } ?? "unknown error")",
            url: nil, history: [], writeAccepted: false)
    }
}

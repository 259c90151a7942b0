// Hand-written addition to the generated Hopsafe module: streamed response bodies as an
// AsyncSequence of Data (and of lines), with Task cancellation wired to the transfer.

import Foundation

extension HopsafeClient {
    /// Sends `request` like `send(_:)` but returns as soon as the response head is in; read
    /// the body as it arrives with `for try await chunk in response.body` (or `.lines`).
    /// Cancelling the calling Task cancels the request.
    public func stream(_ request: HttpRequest) async throws -> StreamedResponse {
        try await cancellable { handle in try await self.open(request: request, cancel: handle) }
    }
}

/// The body as chunks of `Data`, read once, in order. Cancelling the iterating Task, leaving
/// the loop early (`break`, a thrown error) or releasing the body aborts the transfer; a body
/// read to its end returns the connection to the pool.
extension ResponseBody: AsyncSequence {
    public typealias Element = Data

    /// Reads the body chunk by chunk; dropping it before the end aborts the transfer.
    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate let reader: Reader

        public mutating func next() async throws -> Data? {
            try await reader.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: Reader(self))
    }

    /// The body as lines of UTF-8 text (`\n` or `\r\n` ends a line, not included; invalid
    /// UTF-8 is replaced), e.g. server-sent events or NDJSON.
    public var lines: ResponseBodyLines { ResponseBodyLines(body: self) }
}

/// Cancels the body when the iteration stops before the end (the iterator is dropped).
private final class Reader: @unchecked Sendable {
    private let body: ResponseBody
    private var ended = false

    init(_ body: ResponseBody) { self.body = body }

    func next() async throws -> Data? {
        let body = self.body
        let chunk = try await withTaskCancellationHandler {
            try await body.next()
        } onCancel: {
            body.cancel()
        }
        if chunk == nil { ended = true }
        return chunk
    }

    deinit {
        if !ended { body.cancel() }
    }
}

/// The lines of a `ResponseBody` (see `ResponseBody.lines`).
public struct ResponseBodyLines: AsyncSequence {
    public typealias Element = String
    fileprivate let body: ResponseBody

    /// Reads lines; dropping it before the end aborts the transfer.
    public struct AsyncIterator: AsyncIteratorProtocol {
        fileprivate var chunks: ResponseBody.AsyncIterator
        fileprivate var pending = Data()
        fileprivate var ended = false

        public mutating func next() async throws -> String? {
            while true {
                if let newline = pending.firstIndex(of: 0x0A) {
                    var line = pending[pending.startIndex..<newline]
                    if line.last == 0x0D { line = line.dropLast() }
                    let text = String(decoding: line, as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    return text
                }
                if ended {
                    if pending.isEmpty { return nil }
                    defer { pending = Data() }
                    return String(decoding: pending, as: UTF8.self)
                }
                if let chunk = try await chunks.next() {
                    pending.append(chunk)
                } else {
                    ended = true
                }
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: body.makeAsyncIterator())
    }
}

// Hand-written addition to the generated Hopsafe module: Swift task cancellation does not
// reach Rust futures, so `send` and `sendStreaming` wire a CancelHandle to the task's cancellation.

extension HopsafeClient {
    /// Sends `request` like `request(request:cancel:)`; cancelling the calling Task cancels
    /// the request (the connection is dropped and `HopsafeError.Cancelled` is thrown).
    public func send(_ request: HttpRequest) async throws -> HttpResponse {
        try await cancellable { handle in try await self.request(request: request, cancel: handle) }
    }

    /// Sends `request` with its body read from `body` while it is sent, like
    /// `requestStreaming(request:body:cancel:)`; cancelling the calling Task cancels it.
    public func sendStreaming(_ request: HttpRequest, body: BodySource) async throws -> HttpResponse {
        try await cancellable { handle in
            try await self.requestStreaming(request: request, body: body, cancel: handle)
        }
    }

    /// Runs `call` with a fresh CancelHandle that the calling Task's cancellation triggers.
    func cancellable<T>(
        _ call: (CancelHandle) async throws -> T
    ) async throws -> T {
        let handle = CancelHandle()
        return try await withTaskCancellationHandler {
            try await call(handle)
        } onCancel: {
            handle.cancel()
        }
    }
}

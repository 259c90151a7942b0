// Hand-written addition to the generated Hopsafe module: the client initializer applications
// use. It reports `l=swift` in `Client-SDK` and the Swift version in `User-Agent` itself, so a
// server can pin Swift apps; apps name themselves with `ClientConfig.sdkName`/`sdkVersion`.

extension HopsafeClient {
    /// Builds a client from `config`; an invalid option throws `HopsafeError.InvalidConfig`.
    /// `redirectHook` is asked before every hop (see `ClosureRedirectHook`); `listener` is
    /// told about every request, hop and retry of this client (see `ClosureListener`).
    public convenience init(
        config: ClientConfig = ClientConfig(),
        redirectHook: RedirectHook? = nil,
        listener: HopsafeListener? = nil
    ) throws {
        let made = try HopsafeClient.forBinding(
            config: config, platform: swiftPlatform, redirectHook: redirectHook, listener: listener)
        self.init(unsafeFromHandle: made.uniffiCloneHandle())
    }
}

/// A `HopsafeListener` from a closure:
/// `HopsafeClient(config: config, listener: ClosureListener { event in logger.debug("\(event)") })`.
/// Events are `.request`, `.hop` (with the headers dropped and why) and `.retry`; none carries
/// a credential, path or query. It runs on one of hopsafe's threads while the call goes on:
/// keep it quick. An error it throws is ignored.
public final class ClosureListener: HopsafeListener, @unchecked Sendable {
    private let handle: @Sendable (HopsafeEvent) throws -> Void

    public init(_ handle: @escaping @Sendable (HopsafeEvent) throws -> Void) {
        self.handle = handle
    }

    public func onEvent(event: HopsafeEvent) throws {
        try handle(event)
    }
}

/// A `RedirectHook` from a closure. It runs on one of hopsafe's threads while the call waits:
/// keep it quick. Throwing rejects the redirect (`HopsafeError.RedirectRejected`).
public final class ClosureRedirectHook: RedirectHook, @unchecked Sendable {
    private let decide: @Sendable (RedirectInfo) throws -> RedirectDecision

    public init(_ decide: @escaping @Sendable (RedirectInfo) throws -> RedirectDecision) {
        self.decide = decide
    }

    public func onRedirect(attempt: RedirectInfo) throws -> RedirectDecision {
        try decide(attempt)
    }
}

/// The language and runtime this binding reports.
private let swiftPlatform = BindingPlatform(language: "swift", runtime: swiftRuntime())

/// The version of the Swift compiler that built this module, as a `User-Agent` product.
private func swiftRuntime() -> String {
    #if compiler(>=6.3)
    return "swift/6.3"
    #elseif compiler(>=6.2)
    return "swift/6.2"
    #elseif compiler(>=6.1)
    return "swift/6.1"
    #elseif compiler(>=6.0)
    return "swift/6.0"
    #elseif compiler(>=5.10)
    return "swift/5.10"
    #else
    return "swift/5"
    #endif
}

// Hand-written addition to the generated Hopsafe module: the client initializer applications
// use. It reports `l=swift` in `Client-SDK` and the Swift version in `User-Agent` itself, so a
// server can pin Swift apps; apps name themselves with `ClientConfig.sdkName`/`sdkVersion`.

extension HopsafeClient {
    /// Builds a client from `config`; an invalid option throws `HopsafeError.InvalidConfig`.
    /// `redirectHook` is asked before every hop (see `ClosureRedirectHook`).
    public convenience init(config: ClientConfig = ClientConfig(), redirectHook: RedirectHook? = nil) throws {
        let made = try HopsafeClient.forBinding(config: config, platform: swiftPlatform, redirectHook: redirectHook)
        self.init(unsafeFromHandle: made.uniffiCloneHandle())
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

// Hand-written addition to the generated Hopsafe module: the fields every HopsafeError
// variant carries, readable without matching the variant, and the group each belongs to.
//
// HopsafeError is an enum with one case per core error, named as in the core; `group` is
// the core's grouping:
//
//   HopsafeError                 url, history, writeAccepted (and detail)
//   ├── group .invalidInput      InvalidUrl, InvalidHeader, InvalidMethod, InvalidConfig,
//   │                            UnsupportedScheme
//   ├── group .network           Connect, Tls, Timeout (phase, afterMs), Transport
//   ├── group .redirect          TooManyRedirects, RedirectLoop, InsecureRedirect,
//   │                            InvalidLocation, RedirectRejected
//   ├── group .body              BodyNotReplayable, BodyStream, ResponseTooLarge
//   ├── no group                 UpgradeRequired (sdk, minimumVersion, currentVersion)
//   └── no group                 Cancelled

extension HopsafeError {
    /// The fields every variant carries.
    private var common: (detail: String, url: String?, history: [Hop], writeAccepted: Bool) {
        switch self {
        case let .InvalidUrl(d, u, h, w),
             let .InvalidHeader(d, u, h, w),
             let .InvalidMethod(d, u, h, w),
             let .InvalidConfig(d, u, h, w),
             let .Connect(d, u, h, w),
             let .Tls(d, u, h, w),
             let .Transport(d, u, h, w),
             let .TooManyRedirects(d, u, h, w),
             let .RedirectLoop(d, u, h, w),
             let .InsecureRedirect(d, u, h, w),
             let .UnsupportedScheme(d, u, h, w),
             let .InvalidLocation(d, u, h, w),
             let .BodyNotReplayable(d, u, h, w),
             let .BodyStream(d, u, h, w),
             let .ResponseTooLarge(d, u, h, w),
             let .RedirectRejected(d, u, h, w),
             let .Cancelled(d, u, h, w):
            return (d, u, h, w)
        case let .Timeout(d, u, h, w, _, _):
            return (d, u, h, w)
        case let .UpgradeRequired(d, u, h, w, _, _, _):
            return (d, u, h, w)
        }
    }

    /// The error message.
    public var detail: String { common.detail }

    /// The URL the error is about, if any.
    public var url: String? { common.url }

    /// The redirect hops taken before the error, oldest first (empty when none).
    public var history: [Hop] { common.history }

    /// Whether a server already accepted the write before this error: a hop turned the method
    /// into GET (a 303, or a 301/302 answering a POST). Sending the request again may apply it twice.
    public var writeAccepted: Bool { common.writeAccepted }
}

extension HopsafeError {
    /// The groups of errors, as the core defines them.
    public enum Group: Sendable, Hashable {
        /// The request or an option cannot be used as given: fix the call, do not retry it.
        case invalidInput
        /// No usable answer came back over the connection (see `writeAccepted` and the case).
        case network
        /// The redirect chain breaks a rule (length, loop, downgrade, `Location`, policy).
        case redirect
        /// The request body could not be sent again or read, or the response body is too large.
        case body
    }

    /// The group of this error; `nil` for `UpgradeRequired` and `Cancelled`, which stand alone.
    public var group: Group? {
        switch self {
        case .InvalidUrl: return .invalidInput
        case .InvalidHeader: return .invalidInput
        case .InvalidMethod: return .invalidInput
        case .InvalidConfig: return .invalidInput
        case .Connect: return .network
        case .Tls: return .network
        case .Timeout: return .network
        case .Transport: return .network
        case .TooManyRedirects: return .redirect
        case .RedirectLoop: return .redirect
        case .InsecureRedirect: return .redirect
        case .UnsupportedScheme: return .invalidInput
        case .InvalidLocation: return .redirect
        case .BodyNotReplayable: return .body
        case .BodyStream: return .body
        case .ResponseTooLarge: return .body
        case .RedirectRejected: return .redirect
        case .UpgradeRequired: return nil
        case .Cancelled: return nil
        }
    }
}

// Hand-written addition to the generated Hopsafe module: the fields every HopsafeError
// variant carries, readable without matching the variant.

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

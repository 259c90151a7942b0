package dev.hopsafe

/** The fields every [HopsafeException] variant carries. */
data class ErrorContext(
    /** The error message. */
    val detail: String,
    /** The URL the error is about, if any. */
    val url: String?,
    /** The redirect hops taken before the error, oldest first (empty when none). */
    val history: List<Hop>,
    /** A hop turned the write into a GET: the server accepted it before the error. */
    val writeAccepted: Boolean,
)

/** The fields every variant carries, whichever variant this is. */
val HopsafeException.context: ErrorContext
    get() =
        when (this) {
            is HopsafeException.InvalidUrl -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.InvalidHeader -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.InvalidMethod -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.InvalidConfig -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.Connect -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.Tls -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.Timeout -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.Transport -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.TooManyRedirects -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.RedirectLoop -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.InsecureRedirect -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.UnsupportedScheme -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.InvalidLocation -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.BodyNotReplayable -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.BodyStream -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.ResponseTooLarge -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.RedirectRejected -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.UpgradeRequired -> ErrorContext(detail, url, history, writeAccepted)
            is HopsafeException.Cancelled -> ErrorContext(detail, url, history, writeAccepted)
        }

/**
 * Whether a server already accepted the write before this error: a hop turned the method
 * into GET (a 303, or a 301/302 answering a POST). Sending the request again may apply it twice.
 */
val HopsafeException.writeAccepted: Boolean get() = context.writeAccepted

/** The redirect hops taken before the error, oldest first (empty when none). */
val HopsafeException.history: List<Hop> get() = context.history

/** The URL the error is about, if any. */
val HopsafeException.url: String? get() = context.url

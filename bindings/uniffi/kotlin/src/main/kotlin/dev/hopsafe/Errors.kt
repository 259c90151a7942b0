package dev.hopsafe

/*
 * The error hierarchy. uniffi generates the sealed HopsafeException and one nested class per
 * core error, named <core name>Exception; the build puts each under its group's sealed class
 * below (bindings/uniffi/bindgen), and the type aliases give every class a top-level name:
 *
 *   HopsafeException                url, history, writeAccepted (and detail)
 *   ├── InvalidInputException       InvalidUrlException, InvalidHeaderException,
 *   │                               InvalidMethodException, InvalidConfigException,
 *   │                               UnsupportedSchemeException
 *   ├── NetworkException            ConnectException, TlsException, TimeoutException (phase, afterMs),
 *   │                               TransportException
 *   ├── RedirectException           TooManyRedirectsException, RedirectLoopException,
 *   │                               InsecureRedirectException, InvalidLocationException,
 *   │                               RedirectRejectedException
 *   ├── BodyException               BodyNotReplayableException, BodyStreamException,
 *   │                               ResponseTooLargeException
 *   ├── UpgradeRequiredException    sdk, minimumVersion, currentVersion
 *   └── CancelledException
 *
 * dev.hopsafe.ConnectException and TimeoutException share their simple names with
 * java.net.ConnectException and java.util.concurrent.TimeoutException: import the one you mean.
 */

/** The request or an option cannot be used as given: fix the call, do not retry it. */
sealed class InvalidInputException : HopsafeException()

/** No usable answer came back over the connection (see [writeAccepted] and the class). */
sealed class NetworkException : HopsafeException()

/** The redirect chain breaks a rule (length, loop, downgrade, `Location`, policy). */
sealed class RedirectException : HopsafeException()

/** The request body could not be sent again or read, or the response body is too large. */
sealed class BodyException : HopsafeException()

typealias InvalidUrlException = HopsafeException.InvalidUrlException

typealias InvalidHeaderException = HopsafeException.InvalidHeaderException

typealias InvalidMethodException = HopsafeException.InvalidMethodException

typealias InvalidConfigException = HopsafeException.InvalidConfigException

typealias ConnectException = HopsafeException.ConnectException

typealias TlsException = HopsafeException.TlsException

typealias TimeoutException = HopsafeException.TimeoutException

typealias TransportException = HopsafeException.TransportException

typealias TooManyRedirectsException = HopsafeException.TooManyRedirectsException

typealias RedirectLoopException = HopsafeException.RedirectLoopException

typealias InsecureRedirectException = HopsafeException.InsecureRedirectException

typealias UnsupportedSchemeException = HopsafeException.UnsupportedSchemeException

typealias InvalidLocationException = HopsafeException.InvalidLocationException

typealias BodyNotReplayableException = HopsafeException.BodyNotReplayableException

typealias BodyStreamException = HopsafeException.BodyStreamException

typealias ResponseTooLargeException = HopsafeException.ResponseTooLargeException

typealias RedirectRejectedException = HopsafeException.RedirectRejectedException

typealias UpgradeRequiredException = HopsafeException.UpgradeRequiredException

typealias CancelledException = HopsafeException.CancelledException

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
            is InvalidUrlException -> ErrorContext(detail, url, history, writeAccepted)
            is InvalidHeaderException -> ErrorContext(detail, url, history, writeAccepted)
            is InvalidMethodException -> ErrorContext(detail, url, history, writeAccepted)
            is InvalidConfigException -> ErrorContext(detail, url, history, writeAccepted)
            is ConnectException -> ErrorContext(detail, url, history, writeAccepted)
            is TlsException -> ErrorContext(detail, url, history, writeAccepted)
            is TimeoutException -> ErrorContext(detail, url, history, writeAccepted)
            is TransportException -> ErrorContext(detail, url, history, writeAccepted)
            is TooManyRedirectsException -> ErrorContext(detail, url, history, writeAccepted)
            is RedirectLoopException -> ErrorContext(detail, url, history, writeAccepted)
            is InsecureRedirectException -> ErrorContext(detail, url, history, writeAccepted)
            is UnsupportedSchemeException -> ErrorContext(detail, url, history, writeAccepted)
            is InvalidLocationException -> ErrorContext(detail, url, history, writeAccepted)
            is BodyNotReplayableException -> ErrorContext(detail, url, history, writeAccepted)
            is BodyStreamException -> ErrorContext(detail, url, history, writeAccepted)
            is ResponseTooLargeException -> ErrorContext(detail, url, history, writeAccepted)
            is RedirectRejectedException -> ErrorContext(detail, url, history, writeAccepted)
            is UpgradeRequiredException -> ErrorContext(detail, url, history, writeAccepted)
            is CancelledException -> ErrorContext(detail, url, history, writeAccepted)
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

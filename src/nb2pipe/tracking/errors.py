"""The one error tracking raises, shared by the tracker modules."""


class TrackingError(RuntimeError):
    """The tracker cannot be used; the message says which one, why, and how to go on."""

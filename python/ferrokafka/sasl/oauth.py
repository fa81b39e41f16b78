"""OAUTHBEARER token providers, as kafka-python defines them.

``sasl_oauth_token_provider`` takes an ``AbstractTokenProvider``: its
``token()`` returns the bearer token (a compact JWT) and its optional
``extensions()`` a dict of SASL extensions (KIP-342). As with kafka-python,
the provider is asked on every authentication, so caching and refreshing
the token is the provider's job. It runs on a ferrokafka network thread with
the GIL, so it should return quickly. Any object with a ``token()`` method
is accepted, kafka-python's own ``AbstractTokenProvider`` subclasses
included.
"""

from abc import ABC, abstractmethod

__all__ = ["AbstractTokenProvider"]


class AbstractTokenProvider(ABC):
    """Base class of OAUTHBEARER token providers: implement ``token()``."""

    def __init__(self, **config):
        pass

    @abstractmethod
    def token(self):
        """The bearer token (str) to authenticate with."""

    def extensions(self):
        """SASL extensions sent with the token: a dict of str to str."""
        return {}

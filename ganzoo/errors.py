"""Errors a user can act on. The CLI prints them as one line and exits with code 2."""


class GanzooError(Exception):
    """A problem with the user's input or environment, with the next step in its message."""


class UnknownNameError(GanzooError, KeyError):
    """A name that no registry holds."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class DuplicateNameError(GanzooError):
    """Two plugins registered the same name."""


class DataError(GanzooError):
    """A dataset that is missing, malformed or unsuitable."""


class ArtifactError(GanzooError):
    """A pretrained directory, checkpoint or weights file that cannot be used."""


class PluginError(GanzooError):
    """A plugin's registered target that cannot be imported or is not what it was registered as."""

"""Where a pretrained model comes from: a local directory or training run, the Hugging Face
cache, the copy bundled in a plugin package, or the Hub; with the sha256 checked on the way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo.artifacts import CONFIG, WEIGHTS
from ganzoo.errors import ArtifactError, GanzooError, UnknownNameError

if TYPE_CHECKING:
    from ganzoo.huggingface import HubOptions


@dataclass(frozen=True)
class Source:
    """Where a model came from: ``kind`` is directory, run, cache (the Hugging Face cache), hub
    (downloaded just now) or bundled; ``detail`` says which repository, commit and checksum;
    ``notes`` are the fallbacks taken on the way (shown to the user)."""

    kind: str
    path: Path
    name: str
    detail: str = ""
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        where = {"directory": "local directory", "run": "training run", "bundled": "bundled copy",
                 "cache": "Hugging Face cache", "hub": "Hugging Face Hub"}[self.kind]
        return f"{where} {self.detail or self.path}"


def resolve(name_or_path: str | Path, options: "HubOptions | None" = None, *, pull: bool = False,
            force: bool = False) -> Source:
    """Find a model, in this order: a local directory (pretrained layout or training run);
    ``hf-hub:ORG/NAME[@REV]``; a registered name ``NAME[@REV]``.

    A registered name is served from the Hugging Face cache, else its bundled copy, else the Hub
    (asked only when no local copy has the pinned weights: no bundled copy, or ``@REV`` names
    another revision). ``pull=True`` asks the Hub first (``force``: download again) and falls
    back to the cache, then the bundled copy, recording why in ``Source.notes``. The weights'
    sha256 is checked wherever it is known; a mismatch is an error, never a fallback.
    """
    path = Path(name_or_path)
    if path.is_dir():
        if (path / CONFIG).is_file():
            return Source("directory", path, path.name)
        if (path / "run.json").is_file():
            return Source("run", path, path.name)
        raise ArtifactError(f"{path} is neither a pretrained model (no {CONFIG}) nor a training run (no run.json)")
    from ganzoo.huggingface import HUB_PREFIX, HubOptions, HubRef

    options = options or HubOptions()
    spec = str(name_or_path)
    if spec.startswith(HUB_PREFIX):
        ref = HubRef.parse(spec)
        return _from_hub(ref, options, name=ref.repo_id.split("/")[-1], sha256=None,
                         pull_hint=f"ganzoo pull {spec}", force=force)
    from ganzoo.plugins import get_zoo

    name, _, revision = spec.partition("@")
    try:
        entry = get_zoo().pretrained.get(name)
    except UnknownNameError as exc:
        hint = f"; a Hub repository is written {HUB_PREFIX}{name}" if "/" in name else " (a directory path works too)"
        raise UnknownNameError(f"{exc}{hint}") from None
    return _from_entry(entry, revision or None, options, pull=pull, force=force)


def _from_hub(ref, options, *, name: str, sha256: str | None, pull_hint: str, force: bool = False,
              local_only: bool = False) -> Source:
    """``ref`` from the Hub, or from the cache when offline, unreachable or ``local_only``."""
    from ganzoo.huggingface import NotCachedError, download, unreachable_reason

    notes: tuple[str, ...] = ()
    if local_only or options.resolved_offline():
        if not local_only:
            notes += ("offline (--offline or HF_HUB_OFFLINE): the Hub was not asked",)
        snapshot = download(ref, options, sha256=sha256, local_only=True, pull_hint=pull_hint)
    elif (reason := unreachable_reason(options, ref)) is None:
        snapshot = download(ref, options, sha256=sha256, force=force, pull_hint=pull_hint)
    else:
        try:
            snapshot = download(ref, options, sha256=sha256, local_only=True, pull_hint=pull_hint)
        except NotCachedError:
            why = (f"the Hub at {options.resolved_endpoint()} cannot be used ({reason}) and {ref} is "
                   "not in the Hugging Face cache")
            raise NotCachedError(f"{why}; check the connection and run `{pull_hint}` again later", why) from None
        notes += (f"the Hub at {options.resolved_endpoint()} cannot be used ({reason}); using the cache",)
    detail = (f"{ref.repo_id}@{snapshot.commit[:12]} ({snapshot.directory}; sha256 {snapshot.sha256[:12]}... "
              f"checked against {snapshot.checked_against})")
    return Source("hub" if snapshot.downloaded else "cache", snapshot.directory, name, detail, notes)


def _from_entry(entry, revision: str | None, options, *, pull: bool, force: bool) -> Source:
    """A registered pretrained model: the cache, the bundled copy and the Hub (see ``resolve``)."""
    from ganzoo.huggingface import HubError, HubRef, NotCachedError, check_sha256

    pinned = revision is None or revision == entry.revision
    sha256 = entry.sha256 if pinned else None
    hint = f"ganzoo pull {entry.name}" + (f"@{revision}" if revision else "")
    if not entry.repo_id and revision:
        raise GanzooError(f"{entry.name} names no Hub repository, so @{revision} cannot be fetched")
    ref = HubRef(entry.repo_id, revision or entry.revision) if entry.repo_id else None

    def bundled(notes: tuple[str, ...] = ()) -> Source | None:
        if not pinned or entry.bundled is None:
            return None
        checked = ""
        if entry.sha256:
            check_sha256(entry.bundled / WEIGHTS, entry.sha256, f"the bundled {WEIGHTS} of {entry.name}",
                         f"reinstall the package of plugin {entry.plugin!r} (pip install --force-reinstall)")
            checked = f"; sha256 {entry.sha256[:12]}... checked"
        return Source("bundled", entry.bundled, entry.name, f"{entry.bundled} (plugin {entry.plugin}{checked})", notes)

    def hub(**how) -> Source:
        return _from_hub(ref, options, name=entry.name, sha256=sha256, pull_hint=hint, **how)

    if ref is None:
        source = bundled((f"{entry.name} names no Hub repository",) if pull else ())
        if source is None:
            raise ArtifactError(f"the bundled copy of {entry.name} is missing from plugin {entry.plugin!r}; reinstall it")
        return source
    if not pull:
        try:
            return hub(local_only=True)
        except NotCachedError:
            return bundled() or hub()
    try:
        return hub(force=force)
    except NotCachedError as exc:
        offline = "offline (--offline or HF_HUB_OFFLINE): the Hub was not asked; " if options.resolved_offline() else ""
        source = bundled((offline + exc.reason,))
        if source is None:
            raise
        return source
    except HubError as exc:
        source = bundled((str(exc),))
        if source is None:
            raise
        return source

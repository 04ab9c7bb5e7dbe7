"""Transfers between pretrained directories and the Hugging Face Hub, through huggingface_hub.

Downloads land in the Hugging Face cache (``HF_HOME``, ``HF_HUB_CACHE``) exactly as
``hf_hub_download`` lays them out; the weights file is checked against its sha256 before anyone
uses it (the pinned one of a registered model, else the Hub's own ETag, which for an LFS file
is its sha256). Only JSON, safetensors, Markdown and PNG files are fetched: nothing from the
Hub is executed or unpickled.

Every cached file is checked against the id it is stored under: the sha256 of an LFS file, the
git blob sha1 of a regular one (config.json, and weights pushed without LFS).

Every failure becomes one ``GanzooError`` line naming the next step. Before huggingface_hub's
own retries (minutes against a Hub that stalls) start, one probe asks the Hub for the model's
config.json: ``CONNECT_TIMEOUT`` seconds to connect, ``ANSWER_TIMEOUT`` seconds to answer; a
Hub that does not connect, does not answer or answers 5xx is not used (the cache is, if it has
the model).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from ganzoo.errors import ArtifactError, GanzooError
from ganzoo.fileio import git_blob_sha1_of, sha256_of

HUB_PREFIX = "hf-hub:"
CONFIG, WEIGHTS, CARD, SAMPLES = "config.json", "model.safetensors", "README.md", "samples.png"
DISCRIMINATOR = "discriminator.safetensors"
PUSHED_FILES = (CONFIG, WEIGHTS, SAMPLES, DISCRIMINATOR)
"""Files ``push_to_hub`` uploads from a pretrained directory; the card is rendered anew."""

CONNECT_TIMEOUT = 3.0
"""Seconds the reachability probe waits for a TCP connection to the Hub."""
ANSWER_TIMEOUT = 10.0
"""Seconds the probe (and huggingface_hub's metadata request) waits for the Hub's answer."""

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GIT_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def repo_id_problem(repo_id: str) -> str | None:
    """Why ``repo_id`` is no ORG/NAME the Hub accepts, by huggingface_hub's own rules, or None."""
    if not _REPO_ID.fullmatch(repo_id):
        return "it must look like ORG/NAME"
    if "--" in repo_id or ".." in repo_id:
        return "it may not hold -- or .."
    if repo_id.endswith(".git"):
        return "it may not end in .git"
    if any(part[0] in "-." or part[-1] in "-." for part in repo_id.split("/")):
        return "ORG and NAME may not start or end with - or ."
    if len(repo_id.split("/")[1]) > 96:
        return "NAME may have at most 96 characters"
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        return "huggingface_hub refuses it"
    return None


class HubError(GanzooError):
    """The Hub refused or could not serve a request."""


class NotCachedError(HubError):
    """Offline (or unreachable) and the model is not in the Hugging Face cache; ``reason`` is
    the message without its advice, for callers that fall back to another source."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class ChecksumError(ArtifactError):
    """A downloaded or cached file does not have the sha256 it should have."""


@dataclass(frozen=True)
class HubRef:
    """A repository on the Hub and an optional revision (branch, tag or commit id)."""

    repo_id: str
    revision: str | None = None

    @classmethod
    def parse(cls, spec: str) -> "HubRef":
        """``hf-hub:ORG/NAME[@REV]`` (the prefix is optional here)."""
        body = spec.removeprefix(HUB_PREFIX)
        repo_id, _, revision = body.partition("@")
        problem = repo_id_problem(repo_id) or ("the revision after @ is empty" if _ and not revision else None)
        if problem:
            raise GanzooError(f"{spec!r} is not a Hub model reference ({problem}); write {HUB_PREFIX}ORG/NAME or "
                              f"{HUB_PREFIX}ORG/NAME@REVISION")
        return cls(repo_id, revision or None)

    def __str__(self) -> str:
        return self.repo_id + (f"@{self.revision}" if self.revision else "")


@dataclass(frozen=True)
class HubOptions:
    """How to reach the Hub. ``None`` means huggingface_hub's own default (its environment
    variables: HF_ENDPOINT, HF_HUB_CACHE/HF_HOME, HF_TOKEN or the token of ``hf auth login``)."""

    endpoint: str | None = None
    cache_dir: str | Path | None = None
    token: str | None = None
    offline: bool = False

    def resolved_offline(self) -> bool:
        """The --offline flag, or HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE in the environment."""
        env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
        return self.offline or env.strip().lower() in {"1", "true", "yes", "on"}

    def resolved_endpoint(self) -> str:
        from huggingface_hub import constants

        return (self.endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")

    def resolved_cache(self) -> Path:
        from huggingface_hub import constants

        return Path(self.cache_dir or os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE)

    def download_kwargs(self) -> dict:
        return {"endpoint": self.resolved_endpoint(), "cache_dir": str(self.resolved_cache()),
                "token": self.token}


@dataclass(frozen=True)
class Snapshot:
    """A model fetched into the Hugging Face cache: ``directory`` holds config.json and
    model.safetensors (and README.md, samples.png when the repository has them)."""

    ref: HubRef
    commit: str
    directory: Path
    sha256: str
    checked_against: str
    downloaded: bool


def unreachable_reason(options: HubOptions, ref: "HubRef | None" = None) -> str | None:
    """Why the Hub cannot be used now, or None.

    One TCP connect (``CONNECT_TIMEOUT`` s); with ``ref``, then one HEAD request for its
    config.json, answered within ``ANSWER_TIMEOUT`` s with anything but a server error (a 404
    or 401 is an answer: huggingface_hub reports it properly). With a proxy configured the
    probe is skipped: only the proxy knows.
    """
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy",
                                       "ALL_PROXY", "all_proxy")):
        return None
    endpoint = options.resolved_endpoint()
    url = urlsplit(endpoint)
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        reason = exc.strerror if getattr(exc, "strerror", None) else str(exc) or type(exc).__name__
        return f"{host}:{port}: {reason}"
    if ref is None:
        return None
    revision = quote(ref.revision or "main", safe="")
    return _answer_problem(f"{endpoint.rstrip('/')}/{ref.repo_id}/resolve/{revision}/{CONFIG}",
                           options.token, f"{host}:{port}")


def _answer_problem(url: str, token: str | None, where: str) -> str | None:
    """A HEAD request for ``url``: None when the server answers (any status below 500)."""
    from huggingface_hub.utils import build_hf_headers

    request = urllib.request.Request(url, method="HEAD", headers=build_hf_headers(token=token))
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=ANSWER_TIMEOUT):
            return None
    except urllib.error.HTTPError as exc:
        return None if exc.code < 500 else f"{where} answered HTTP {exc.code} {exc.reason}".rstrip()
    except (TimeoutError, socket.timeout):
        return f"{where} accepted the connection but sent no answer within {ANSWER_TIMEOUT:g} s"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return f"{where} accepted the connection but sent no answer within {ANSWER_TIMEOUT:g} s"
        return f"{where}: {reason}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect (to the Hub's CDN) is an answer: the probe does not follow it."""

    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


def check_sha256(path: Path, expected: str, what: str, remedy: str) -> str:
    """The file's sha256, or ChecksumError when it is not ``expected``."""
    actual = sha256_of(path)
    if actual != expected.lower():
        raise ChecksumError(
            f"{what} has sha256 {actual[:12]}..., expected {expected[:12]}...: the file is corrupt "
            f"or was changed and was not loaded; {remedy}"
        )
    return actual


def check_blob(path: Path, what: str, remedy: str) -> str:
    """Check a file of the Hugging Face cache against the id its blob is stored under (the Hub's
    ETag): the sha256 of an LFS file, the git blob sha1 of a regular one. Returns what it was
    checked against; a mismatch is a ChecksumError."""
    blob = path.resolve()
    if _SHA256.fullmatch(blob.name):
        check_sha256(blob, blob.name, what, remedy)
        return "the Hub's ETag (sha256)"
    if _GIT_SHA1.fullmatch(blob.name):
        actual = git_blob_sha1_of(blob)
        if actual != blob.name:
            raise ChecksumError(f"{what} has git blob sha1 {actual[:12]}..., expected {blob.name[:12]}...: the "
                                f"file is corrupt or was changed and was not loaded; {remedy}")
        return "the Hub's ETag (git blob sha1)"
    raise ChecksumError(f"{what} is stored under {blob.name!r}, which is no sha256 or git sha1 the Hub gives, so "
                        f"it cannot be verified and was not loaded; {remedy}")


def download(ref: HubRef, options: HubOptions, *, sha256: str | None = None, local_only: bool = False,
             force: bool = False, pull_hint: str | None = None) -> Snapshot:
    """Fetch (or, with ``local_only``, find in the cache) a ganzoo model repository.

    ``sha256`` is the expected hash of model.safetensors; without it the Hub's ETag recorded in
    the cache is used. ``pull_hint`` is the command that fetches this model, for messages.
    """
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    hint = pull_hint or f"ganzoo pull {HUB_PREFIX}{ref}"
    kwargs = {**options.download_kwargs(), "local_files_only": local_only}

    def fetch(filename: str, revision: str | None) -> Path:
        path = Path(hf_hub_download(ref.repo_id, filename, revision=revision, force_download=force,
                                    etag_timeout=ANSWER_TIMEOUT, **kwargs))
        if filename != WEIGHTS:  # the weights are checked below, against the pinned sha256 if there is one
            check_blob(path, f"{filename} of {ref} in the Hugging Face cache", f"run `{hint} --force` to download it again")
        return path

    def fail(exc: Exception, filename: str) -> GanzooError:
        return _translate(exc, ref, filename, options, local_only, hint)

    cached = try_to_load_from_cache(ref.repo_id, WEIGHTS, revision=ref.revision, cache_dir=kwargs["cache_dir"])
    try:
        config = fetch(CONFIG, ref.revision)
    except Exception as exc:  # noqa: BLE001 - translated to one line
        raise fail(exc, CONFIG) from None
    commit = config.parent.name  # snapshots/<commit>/config.json
    try:
        weights = fetch(WEIGHTS, commit)
    except LocalEntryNotFoundError:
        if not local_only:
            raise fail(LocalEntryNotFoundError(WEIGHTS), WEIGHTS) from None
        raise HubError(f"the cached snapshot of {ref} ({config.parent}) is incomplete: it has no "
                       f"{WEIGHTS}; run `{hint}` with network access to complete it") from None
    except Exception as exc:  # noqa: BLE001 - translated to one line
        raise fail(exc, WEIGHTS) from None
    optional_files = [CARD, SAMPLES]
    try:
        if json.loads(config.read_text()).get("discriminator") == DISCRIMINATOR:  # exported for fine-tuning
            optional_files.append(DISCRIMINATOR)
    except (ValueError, AttributeError):
        pass  # read_config reports a bad config.json when the model is built
    for optional in optional_files:
        try:
            fetch(optional, commit)
        except EntryNotFoundError:  # not in the repository, or not cached: the model works without
            pass
        except Exception as exc:  # noqa: BLE001 - translated to one line
            raise fail(exc, optional) from None
    blob = weights.resolve()
    what = f"{WEIGHTS} of {ref} in the Hugging Face cache ({blob})"
    remedy = f"run `{hint} --force` to download it again"
    if sha256:
        actual, against = check_sha256(blob, sha256, what, remedy), "the registered sha256"
    else:
        against = check_blob(blob, what, remedy)
        actual = sha256_of(blob)
    return Snapshot(ref=ref, commit=commit, directory=config.parent, sha256=actual, checked_against=against,
                    downloaded=not local_only and (force or not isinstance(cached, str)))


def _translate(exc: Exception, ref: HubRef, filename: str, options: HubOptions, local_only: bool,
               hint: str) -> GanzooError:
    """One line for each way a download fails, with the next step."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    known = (HfHubHTTPError, EntryNotFoundError, OfflineModeIsEnabled)
    while not isinstance(exc, known) and isinstance(exc.__cause__, Exception):
        exc = exc.__cause__  # e.g. force_download wraps the failed request in a ValueError
    repo, endpoint = ref.repo_id, options.resolved_endpoint()
    if isinstance(exc, GatedRepoError):
        return HubError(f"{repo} is gated on the Hub ({endpoint}): accept its conditions on the "
                        "repository page, then log in with `hf auth login` or set HF_TOKEN")
    if isinstance(exc, RepositoryNotFoundError):
        return HubError(f"Hub repository {repo} was not found at {endpoint}, or it is private and no "
                        "valid token was sent: check the name, or log in with `hf auth login` (or set HF_TOKEN)")
    if isinstance(exc, RevisionNotFoundError):
        return HubError(f"revision {ref.revision!r} does not exist in Hub repository {repo}: give a "
                        "branch, tag or commit id that exists, or leave out @REVISION")
    if isinstance(exc, (LocalEntryNotFoundError, OfflineModeIsEnabled)):
        cache = options.resolved_cache()
        if local_only or isinstance(exc, OfflineModeIsEnabled):
            reason = f"{ref} is not in the Hugging Face cache ({cache})"
            return NotCachedError(f"{reason} and the Hub is not used offline (--offline or HF_HUB_OFFLINE); "
                                  f"run `{hint}` with network access", reason)
        return HubError(f"the Hub at {endpoint} could not be reached and {ref} is not in the Hugging "
                        f"Face cache ({cache}); check the connection and run `{hint}` again")
    if isinstance(exc, EntryNotFoundError):
        return HubError(f"Hub repository {ref} has no {filename}: it is not a ganzoo model "
                        "(`ganzoo push` uploads config.json and model.safetensors)")
    if isinstance(exc, HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", "?")
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        advice = "log in with `hf auth login` or set HF_TOKEN" if status in (401, 403) else "try again later"
        return HubError(f"the Hub answered HTTP {status} for {ref}: {first}; {advice}")
    if isinstance(exc, OSError):
        return HubError(f"cannot download {filename} of {ref} from {endpoint}: {exc}")
    raise exc


def push_to_hub(directory: str | Path, repo_id: str, *, private: bool = False,
                revision: str | None = None, commit_message: str | None = None,
                options: HubOptions = HubOptions()) -> str:
    """Upload a pretrained directory (``ganzoo export`` / ``save_pretrained``) to ``repo_id``.

    Creates the repository (and the branch ``revision``) when needed, uploads config.json,
    model.safetensors and samples.png, and a model card generated from config.json whose YAML
    carries library_name, tags, license, datasets and the measured metrics (model-index).
    Returns the commit id.
    """
    from huggingface_hub import HfApi

    from ganzoo.card import render_card
    from ganzoo.artifacts import read_config, safetensors_shapes

    directory = Path(directory)
    if problem := repo_id_problem(repo_id):
        raise GanzooError(f"--repo-id {repo_id!r} is not a Hub repository id ({problem}); give ORG/NAME "
                          "(or USER/NAME)")
    if options.resolved_offline():
        raise HubError("cannot push while offline (--offline or HF_HUB_OFFLINE is set)")
    config = read_config(directory)
    safetensors_shapes(directory / WEIGHTS)  # readable safetensors, or a clear error now
    reason = unreachable_reason(options)
    if reason:
        raise HubError(f"cannot push to {options.resolved_endpoint()}: {reason}")
    api = HfApi(endpoint=options.resolved_endpoint(), token=options.token)
    ref = HubRef(repo_id, revision)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="ganzoo-push-") as staging:
            staged = Path(staging)
            for name in PUSHED_FILES:
                if (directory / name).is_file():
                    shutil.copyfile(directory / name, staged / name)
            (staged / CARD).write_text(render_card(repo_id.split("/")[-1], config,
                                                   use_name=f"{HUB_PREFIX}{repo_id}"))
            commit = api.upload_folder(
                repo_id=repo_id, folder_path=staged, revision=revision,
                commit_message=commit_message or f"Upload {config['architecture']} generator with ganzoo",
            )
    except GanzooError:
        raise
    except Exception as exc:  # noqa: BLE001 - translated to one line
        from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

        if isinstance(exc, (RepositoryNotFoundError, HfHubHTTPError)):
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status in (401, 403) or isinstance(exc, RepositoryNotFoundError):
                raise HubError(f"the Hub refused to write {repo_id} (HTTP {status}): log in with a "
                               "write token (`hf auth login` or HF_TOKEN) that may write to its organisation") from None
        if isinstance(exc, OSError) or type(exc).__module__.startswith("huggingface_hub"):
            raise HubError(f"pushing to {ref} failed: {str(exc).strip().splitlines()[0]}") from None
        raise
    return commit.oid

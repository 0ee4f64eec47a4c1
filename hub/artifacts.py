"""The artifact store: content-addressed files (renditions, TV packages, PDFs, images) behind one interface.

Why one interface with two backends: on one machine (the embedded default) the
artifacts are files under ``var/artifacts``; with several machines a ``hub
worker`` renders a package that another node (the web node serving ``/tv`` and
the console) must serve. A shared filesystem is just the local backend at a
shared path; without one, an S3-compatible object store (MinIO, Tencent COS, AWS)
holds them. Selected by ``HUB_ARTIFACTS``:

- unset: ``$HUB_VAR/artifacts`` (local directory);
- a path or ``file:///path``: that directory (e.g. an NFS mount shared by every node);
- ``s3://bucket/prefix``: the object store, through boto3. The endpoint
  (``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``), the credentials
  (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``) and the region are read by
  boto3 from its own standard environment variables: the hub never holds, logs or
  prints them. ``HUB_S3_ADDRESSING_STYLE`` (``auto`` | ``path`` | ``virtual``) for
  servers that need one (MinIO: path; COS: virtual).

Content addressing is as before: an artifact is named ``<sha256><suffix>`` and
lives under the key ``<sha256[:2]>/<name>``; the same bytes are stored once
and a second ``put`` is a no-op (renders are idempotent, several workers may
store the same artifact at once). With the object store, the producing node keeps
its copy under ``$HUB_VAR/artifacts`` as a cache (renderers and ffmpeg need
files), and any node that needs a file it did not make fetches it by name into
its own cache (``local``), verified by its hash. Nothing is ever read whole into
memory: uploads and downloads go through boto3's managed (multipart) transfer,
and ``stream`` yields blocks for an HTTP response.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from hub.deliverables import Artifact, sha256_file
from hub.errors import ConfigError, NotFound, StorageUnavailable

#: a content name: the SHA-256 hex and up to two suffixes (``.mp4``, ``.tar.gz``)
NAME = re.compile(r"^[0-9a-f]{64}(\.[A-Za-z0-9]{1,8}){0,2}$")
#: block size of streamed reads
BLOCK = 1 << 20


def content_name(artifact: Artifact) -> str | None:
    """The artifact's content name (``<sha256><suffix>``), or None for a file that is not content-addressed."""
    name = artifact.path.name
    return name if name.startswith(artifact.sha256) and NAME.match(name) else None


def key_of(name: str) -> str:
    """The store key of a content name: ``ab/abcdef….ext``."""
    if not NAME.match(name):
        raise NotFound(f"artifact {name[:80]!r}")
    return f"{name[:2]}/{name}"


class Backend(Protocol):
    """Where content-addressed files are kept beyond this machine's cache (the object store)."""

    def size(self, name: str) -> int | None:
        """The stored size in bytes, or None when there is no such object."""
        ...

    def upload(self, name: str, source: Path, media_type: str) -> None:
        """Store ``source`` under ``name`` (streamed; multipart when large)."""
        ...

    def download(self, name: str, dest: Path) -> None:
        """Write the object ``name`` into ``dest`` (streamed); ``NotFound`` when absent."""
        ...

    def stream(self, name: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive; None = to the end) of ``name`` in blocks; ``NotFound`` when absent."""
        ...

    def describe(self) -> str:
        """Where it is, for ``hub config check`` and logs: never a credential."""
        ...


class S3Backend:
    """An S3-compatible bucket (boto3). Objects are ``<prefix>/<sha[:2]>/<name>``, with their media type."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None) -> None:
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            style = os.environ.get("HUB_S3_ADDRESSING_STYLE", "auto")
            if style not in ("auto", "path", "virtual"):
                raise ConfigError(f"HUB_S3_ADDRESSING_STYLE: expected auto, path or virtual, not {style[:20]!r}")
            # credentials, endpoint and region come from boto3's own environment variables
            self._client = boto3.client("s3", config=Config(s3={"addressing_style": style},
                                                            retries={"max_attempts": 3, "mode": "standard"}))
        return self._client

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{key_of(name)}" if self.prefix else key_of(name)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def size(self, name: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            with _unavailable(self):
                head = self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise _storage_error(self, exc) from None
        return int(head["ContentLength"])

    def upload(self, name: str, source: Path, media_type: str) -> None:
        from botocore.exceptions import ClientError

        try:
            with _unavailable(self):
                self.client.upload_file(str(source), self.bucket, self._key(name),
                                        ExtraArgs={"ContentType": media_type})
        except ClientError as exc:
            raise _storage_error(self, exc) from None

    def download(self, name: str, dest: Path) -> None:
        from botocore.exceptions import ClientError

        try:
            with _unavailable(self):
                self.client.download_file(self.bucket, self._key(name), str(dest))
        except ClientError as exc:
            if _missing(exc):
                raise NotFound(f"artifact {name} is not in {self.describe()}") from None
            raise _storage_error(self, exc) from None

    def stream(self, name: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(name)}
        if start or end is not None:
            args["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            with _unavailable(self):
                body = self.client.get_object(**args)["Body"]
        except ClientError as exc:
            if _missing(exc):
                raise NotFound(f"artifact {name} is not in {self.describe()}") from None
            raise _storage_error(self, exc) from None
        return _chunks(body)


def _chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(BLOCK)
    finally:
        body.close()


def _missing(exc: Any) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def _storage_error(backend: Backend, exc: Any) -> StorageUnavailable:
    code = str(exc.response.get("Error", {}).get("Code", "?"))[:40]
    return StorageUnavailable(f"artifact store {backend.describe()} refused the request ({code})")


@contextmanager
def _unavailable(backend: Backend) -> Iterator[None]:
    """Connection and transfer failures (not the server's answers) as ``StorageUnavailable``, nothing secret in it."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError

    try:
        yield
    except (BotoCoreError, S3UploadFailedError) as exc:
        raise StorageUnavailable(f"artifact store {backend.describe()} unreachable or refused "
                                 f"({type(exc).__name__})") from None


class ArtifactStore:
    """Content-addressed files under ``root`` (``var/artifacts/ab/abcdef….ext``), optionally backed by ``remote``.

    ``root`` is the local backend (the whole store in the embedded mode or on a shared
    path), or this node's cache of ``remote`` (the object store). Writing the same bytes
    twice is a no-op, so renders are idempotent and artifacts can be shared between
    versions and workers.
    """

    def __init__(self, root: Path, remote: Backend | None = None) -> None:
        self.root = root
        self.remote = remote

    def describe(self) -> str:
        return self.remote.describe() if self.remote is not None else str(self.root)

    # --- writing -----------------------------------------------------------------------

    def put(self, data: bytes, suffix: str, media_type: str) -> Artifact:
        """Store bytes a renderer made (small: text, JSON, images, PDFs)."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest, suffix)
        if not path.exists():
            # write-then-rename: a crash never leaves a half file under a content name
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        self._publish(path, len(data), media_type)
        return Artifact(path, digest, len(data), media_type)

    def put_file(self, source: Path, suffix: str, media_type: str) -> Artifact:
        """Copy a finished file (e.g. a rendered video package) into the store, streaming.

        A playout master is hundreds of MB: it is hashed and copied in blocks, never read whole.
        """
        digest = sha256_file(source)
        path = self._path(digest, suffix)
        if not path.exists():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            os.close(fd)
            shutil.copyfile(source, tmp)
            os.replace(tmp, path)
        size = path.stat().st_size
        self._publish(path, size, media_type)
        return Artifact(path, digest, size, media_type)

    def _publish(self, path: Path, size: int, media_type: str) -> None:
        """Upload to the object store unless an object of that name and size is already there (idempotent)."""
        if self.remote is not None and self.remote.size(path.name) != size:
            self.remote.upload(path.name, path, media_type)

    def _path(self, digest: str, suffix: str) -> Path:
        path = self.root / digest[:2] / f"{digest}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    # --- reading -----------------------------------------------------------------------

    def _cached(self, name: str) -> Path:
        return self.root / key_of(name)

    def exists(self, artifact: Artifact) -> bool:
        """Whether the artifact can be read here (this node's files, else the object store)."""
        name = content_name(artifact)
        if name is None:
            return artifact.path.is_file()
        return self.size(name) is not None

    def size(self, name: str) -> int | None:
        """The size of the content name ``name``, or None when the store does not have it."""
        path = self._cached(name)
        if path.is_file():
            return path.stat().st_size
        return self.remote.size(name) if self.remote is not None else None

    def local(self, artifact: Artifact) -> Path:
        """A file on this machine with the artifact's bytes: the store's own, or fetched into the cache.

        For the tools that need a path (the TV pickup copy, an upload to a platform). The
        fetched file is checked against the content hash before it is renamed into the cache,
        so a damaged transfer never sits under a content name. ``NotFound`` when no backend has it.
        """
        name = content_name(artifact)
        if name is None:  # not content-addressed (a file given by path): as it is
            if not artifact.path.is_file():
                raise NotFound(f"artifact file {artifact.path.name} is missing")
            return artifact.path
        path = self._cached(name)
        if path.is_file():
            return path
        if self.remote is None:
            raise NotFound(f"artifact {name} is not in {self.describe()}")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        os.close(fd)
        try:
            self.remote.download(name, Path(tmp))
            if sha256_file(Path(tmp)) != artifact.sha256:
                raise StorageUnavailable(f"artifact {name} from {self.describe()} does not match its hash")
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return path

    def read_text(self, artifact: Artifact) -> str:
        """A small text artifact (SRT, QC JSON, a post's text) as text."""
        return self.local(artifact).read_text(encoding="utf-8")

    def stream(self, name: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive) of ``name`` in blocks, from this node's files or the object store."""
        path = self._cached(name)
        if path.is_file():
            return _file_blocks(path, start, end)
        if self.remote is None:
            raise NotFound(f"artifact {name} is not in {self.describe()}")
        return self.remote.stream(name, start, end)


def _file_blocks(path: Path, start: int, end: int | None) -> Iterator[bytes]:
    with path.open("rb") as fh:
        fh.seek(start)
        left = None if end is None else end - start + 1
        while left is None or left > 0:
            block = fh.read(BLOCK if left is None else min(BLOCK, left))
            if not block:
                return
            if left is not None:
                left -= len(block)
            yield block


def backend_from(url: str) -> tuple[Path | None, Backend | None]:
    """``HUB_ARTIFACTS`` read: (a local root, or None for the default) and the object store, if any."""
    if not url:
        return None, None
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ConfigError("HUB_ARTIFACTS: an s3:// URL needs a bucket (s3://bucket/prefix)")
        return None, S3Backend(parts.netloc, parts.path)
    if parts.scheme == "file":
        return Path(parts.path).resolve(), None
    if parts.scheme:
        raise ConfigError(f"HUB_ARTIFACTS: unknown scheme {parts.scheme[:10]!r} (a directory, file:// or s3://)")
    return Path(url).resolve(), None


@lru_cache(maxsize=4)
def _store(var_artifacts: Path, url: str) -> ArtifactStore:
    root, remote = backend_from(url)
    return ArtifactStore(root or var_artifacts, remote)


def get_store() -> ArtifactStore:
    """The artifact store of this process, from ``HUB_ARTIFACTS`` (see the module docstring)."""
    from hub.settings import get_settings

    return _store(get_settings().artifacts_dir, os.environ.get("HUB_ARTIFACTS", "").strip())


def check() -> list[str]:
    """What ``hub config check`` reports about the artifact store: one line per problem, nothing secret.

    Why at check time: a worker pointed at a wrong bucket would render, fail to store, and hold
    every delivery as a technical failure; the operator should learn it before starting it.
    """
    try:
        store = get_store()
    except ConfigError as exc:
        return [str(exc)]
    if isinstance(store.remote, S3Backend):
        from botocore.exceptions import ClientError

        remote = store.remote
        try:
            with _unavailable(remote):
                remote.client.head_bucket(Bucket=remote.bucket)
        except StorageUnavailable as exc:
            return [f"HUB_ARTIFACTS: {exc}"]
        except ClientError as exc:
            return [f"HUB_ARTIFACTS: {_storage_error(remote, exc)}"]
        return []
    try:
        store.root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=store.root, prefix=".check-"):
            pass
    except OSError as exc:
        return [f"HUB_ARTIFACTS: {store.root} is not writable ({type(exc).__name__})"]
    return []

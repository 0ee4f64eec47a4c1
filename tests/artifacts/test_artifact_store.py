"""The artifact store behind one interface: the local directory and an S3-compatible server over HTTP."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from s3kit import S3Server

from hub.artifacts import ArtifactStore, S3Backend, content_name, get_store
from hub.deliverables import Artifact
from hub.errors import NotFound, StorageUnavailable
from hub.testing.caches import clear_caches


class CountingS3(S3Backend):
    """The real backend, counting its uploads (to see that a second put of the same bytes sends nothing)."""

    def __init__(self, bucket: str, prefix: str) -> None:
        super().__init__(bucket, prefix)
        self.uploads = 0

    def upload(self, name: str, source: Path, media_type: str) -> None:
        self.uploads += 1
        super().upload(name, source, media_type)


def other_node(tmp_path: Path, s3: S3Server) -> ArtifactStore:
    """The store as a second machine sees it: its own empty cache, the same bucket."""
    return ArtifactStore(tmp_path / "node-b" / "artifacts", S3Backend(s3.bucket, s3.prefix))


def test_a_put_lands_in_the_bucket_under_its_content_name_and_another_node_gets_the_same_bytes(
        s3: S3Server, tmp_path: Path) -> None:
    art = get_store().put("汉阴县低保标准公示".encode(), ".txt", "text/plain; charset=utf-8")
    name = content_name(art)
    assert name == f"{hashlib.sha256('汉阴县低保标准公示'.encode()).hexdigest()}.txt"
    head = s3.client().head_object(Bucket=s3.bucket, Key=s3.key(name))
    assert head["ContentLength"] == art.bytes and head["ContentType"].startswith("text/plain")

    b = other_node(tmp_path, s3)
    assert not (b.root / name[:2] / name).exists() and b.exists(art)
    path = b.local(art)
    assert path == b.root / name[:2] / name and path.read_text("utf-8") == "汉阴县低保标准公示"


def test_a_large_package_is_uploaded_in_parts_and_streamed_back_in_ranges(s3: S3Server, tmp_path: Path) -> None:
    source = tmp_path / "package.zip"
    block = os.urandom(1 << 20)
    with source.open("wb") as fh:  # 12 MiB: above boto3's 8 MiB multipart threshold
        for i in range(12):
            fh.write(bytes([i]) + block[1:])
    art = get_store().put_file(source, ".zip", "application/zip")
    name = content_name(art)
    assert name is not None
    etag = s3.client().head_object(Bucket=s3.bucket, Key=s3.key(name))["ETag"]
    assert "-" in etag, etag  # a multipart upload's ETag is "<md5 of md5s>-<parts>"

    b = other_node(tmp_path, s3)
    assert b.size(name) == 12 << 20
    assert b"".join(b.stream(name, 5 << 20, (5 << 20) + 9)) == bytes([5]) + block[1:10]
    whole = hashlib.sha256()
    blocks = 0
    for chunk in b.stream(name):
        whole.update(chunk)
        blocks += 1
        assert len(chunk) <= 1 << 20  # handed on block by block, never the whole package at once
    assert whole.hexdigest() == art.sha256 and blocks >= 12
    assert b.local(art).stat().st_size == 12 << 20


def test_storing_the_same_bytes_again_uploads_nothing_and_keeps_one_object(s3: S3Server, tmp_path: Path) -> None:
    remote = CountingS3(s3.bucket, s3.prefix)
    a = ArtifactStore(tmp_path / "node-a", remote)
    first = a.put(b"%PDF-1.7 county gazette", ".pdf", "application/pdf")
    second = a.put(b"%PDF-1.7 county gazette", ".pdf", "application/pdf")
    # a second node that rendered the same version (renders are deterministic) stores it again
    third = ArtifactStore(tmp_path / "node-b", remote).put(b"%PDF-1.7 county gazette", ".pdf", "application/pdf")
    assert first.sha256 == second.sha256 == third.sha256 and remote.uploads == 1
    listed = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix=s3.prefix)["Contents"]
    assert [o["Key"] for o in listed] == [s3.key(f"{first.sha256}.pdf")]


def test_a_missing_object_is_not_found_everywhere(s3: S3Server, tmp_path: Path) -> None:
    ghost = Artifact(tmp_path / "elsewhere" / f"{'0' * 64}.mp4", "0" * 64, 10, "video/mp4")
    store = get_store()
    assert not store.exists(ghost) and store.size(f"{'0' * 64}.mp4") is None
    with pytest.raises(NotFound):
        store.local(ghost)
    with pytest.raises(NotFound):
        store.stream(f"{'0' * 64}.mp4")
    assert not list((store.root).rglob("*.mp4"))  # no half file left in the cache


def test_a_download_that_does_not_match_its_hash_is_refused_and_not_cached(s3: S3Server, tmp_path: Path) -> None:
    art = get_store().put(b"the real subtitles", ".srt", "text/plain")
    name = content_name(art)
    assert name is not None
    s3.client().put_object(Bucket=s3.bucket, Key=s3.key(name), Body=b"tampered on the way")
    b = other_node(tmp_path, s3)
    with pytest.raises(StorageUnavailable, match="does not match"):
        b.local(art)
    assert not (b.root / name[:2] / name).exists()


def test_an_unreachable_store_is_a_typed_error_that_never_names_the_secret(
        s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # nothing listens on the discard port
    clear_caches()
    with pytest.raises(StorageUnavailable) as info:
        get_store().put(b"x", ".txt", "text/plain")
    assert s3.secret not in str(info.value) and "s3://hub-artifacts/hanyin" in str(info.value)


def test_a_bucket_that_does_not_exist_is_a_typed_error(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_ARTIFACTS", "s3://no-such-bucket/x")
    clear_caches()
    with pytest.raises(StorageUnavailable):
        get_store().put(b"x", ".txt", "text/plain")


def test_a_shared_directory_is_the_local_backend_seen_by_two_homes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "nfs" / "artifacts"
    monkeypatch.setenv("HUB_ARTIFACTS", str(shared))
    monkeypatch.setenv("HUB_VAR", str(tmp_path / "worker-var"))
    clear_caches()
    art = get_store().put(b"<html>record</html>", ".html", "text/html")
    assert art.path.is_relative_to(shared)
    monkeypatch.setenv("HUB_VAR", str(tmp_path / "web-var"))
    monkeypatch.setenv("HUB_ARTIFACTS", f"file://{shared}")
    clear_caches()
    assert get_store().local(art).read_bytes() == b"<html>record</html>"
    assert not (tmp_path / "web-var" / "artifacts").exists()


@pytest.mark.parametrize("url", ["s3://", "ftp://host/x"])
def test_a_bad_artifacts_setting_names_the_variable(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.errors import ConfigError

    monkeypatch.setenv("HUB_ARTIFACTS", url)
    clear_caches()
    with pytest.raises(ConfigError, match="HUB_ARTIFACTS"):
        get_store()


def test_the_default_is_the_var_directory_as_before(hub_home: Path) -> None:
    store: Any = get_store()
    assert store.root == hub_home / "artifacts" and store.remote is None
    art = store.put(b"abc", ".txt", "text/plain")
    assert art.path == hub_home / "artifacts" / art.sha256[:2] / f"{art.sha256}.txt"


def test_config_check_reports_a_bucket_it_cannot_reach_and_passes_one_it_can(
        s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from hub import artifacts
    from hub.cli import _register, app

    _register()
    assert artifacts.check() == []
    monkeypatch.setenv("HUB_ARTIFACTS", "s3://no-such-bucket/x")
    clear_caches()
    (line,) = artifacts.check()
    assert line.startswith("HUB_ARTIFACTS:") and "no-such-bucket" in line and s3.secret not in line
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 2 and "no-such-bucket" in result.output and s3.secret not in result.output


def test_an_adapter_reading_a_file_gets_channel_outcomes_permanent_when_absent_retryable_when_down(
        s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.channels.boundary import artifact_file
    from hub.errors import Permanent, Retryable

    elsewhere = other_node(tmp_path, s3).put(b"%PDF-1.7 layout", ".pdf", "application/pdf")
    assert artifact_file("newspaper", elsewhere).read_bytes() == b"%PDF-1.7 layout"  # fetched from the bucket
    with pytest.raises(Permanent, match="newspaper"):
        artifact_file("newspaper", Artifact(tmp_path / f"{'1' * 64}.pdf", "1" * 64, 3, "application/pdf"))
    gone = other_node(tmp_path, s3).put(b"another PDF", ".pdf", "application/pdf")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    clear_caches()
    with pytest.raises(Retryable, match="newspaper"):
        artifact_file("newspaper", gone)

"""Tests for service/local_model.py without a real model: joining fake part packages, SHA-256 checks,
the .verified marker, clear errors that name the requirements file, and free_port."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.errors import SetupError
from service.llm import local as local_model
from service.llm.local import ModelSpec, ensure_model, free_port
from service.settings import Settings

PARTS = [b"GGUF" + bytes(range(256)) * 3, b"\x00middle part\xff" * 50, b"tail"]
JOINED = b"".join(PARTS)


@dataclass
class FakeModel:
    """Part packages installed on sys.path, a spec that matches them, and settings with a temp model dir."""

    spec: ModelSpec
    site: Path
    settings: Settings

    @property
    def target(self) -> Path:
        return self.settings.model_dir / self.spec.filename

    @property
    def marker(self) -> Path:
        return self.target.with_name(self.target.name + ".verified")

    def part(self, i: int) -> Path:
        return self.site / f"{self.spec.package}{i}" / "data" / f"part{i:02d}.bin"

    def leftovers(self) -> list[str]:
        """Files in the model dir other than the joined model, its marker and its lock."""
        keep = {self.target.name, self.marker.name, self.target.name + ".lock"}
        return sorted(p.name for p in self.settings.model_dir.iterdir() if p.name not in keep)


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeModel:
    """Three part packages (PACKAGE1..3 with data/partNN.bin) and their spec."""
    package = f"cp_fake_model_part_{uuid.uuid4().hex[:8]}_"
    site = tmp_path / "site"
    for i, data in enumerate(PARTS, 1):
        folder = site / f"{package}{i}" / "data"
        folder.mkdir(parents=True)
        (folder.parent / "__init__.py").write_text("")
        (folder / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(site))  # also clears the import system's caches
    spec = ModelSpec(
        name="tiny-test",
        filename="tiny-test.gguf",
        package=package,
        parts=len(PARTS),
        sha256=hashlib.sha256(JOINED).hexdigest(),
        size=len(JOINED),
        requirements="requirements/model-tiny-test.txt",
    )
    return FakeModel(spec, site, Settings(model_dir=tmp_path / "models"))


def test_parts_are_joined_and_verified(fake_model: FakeModel) -> None:
    path = ensure_model(fake_model.settings, fake_model.spec)
    assert path == fake_model.target and path.read_bytes() == JOINED
    recorded = json.loads(fake_model.marker.read_text())
    assert recorded["sha256"] == fake_model.spec.sha256 and recorded["size"] == len(JOINED)
    assert fake_model.leftovers() == []


def test_second_call_is_a_no_op(fake_model: FakeModel) -> None:
    path = ensure_model(fake_model.settings, fake_model.spec)
    before = path.stat().st_mtime_ns
    for i in range(1, fake_model.spec.parts + 1):
        fake_model.part(i).unlink()  # a rejoin would now fail
    assert ensure_model(fake_model.settings, fake_model.spec) == path
    assert path.stat().st_mtime_ns == before and path.read_bytes() == JOINED


def test_a_verified_file_without_its_marker_is_not_rejoined(fake_model: FakeModel) -> None:
    path = ensure_model(fake_model.settings, fake_model.spec)
    fake_model.marker.unlink()
    fake_model.part(2).unlink()
    assert ensure_model(fake_model.settings, fake_model.spec) == path  # hashed, found good
    assert fake_model.marker.is_file()


@pytest.mark.parametrize("damage", ["same-size", "truncated", "appended"])
def test_a_tampered_model_is_joined_again(fake_model: FakeModel, damage: str) -> None:
    path = ensure_model(fake_model.settings, fake_model.spec)
    stat = path.stat()
    if damage == "same-size":
        path.write_bytes(b"X" * len(JOINED))
    elif damage == "truncated":
        path.write_bytes(JOINED[:100])
    else:
        path.write_bytes(JOINED + b"!")
    # A later write than the verified one, as any real change would be (and clock ticks can be coarse).
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert ensure_model(fake_model.settings, fake_model.spec).read_bytes() == JOINED
    assert fake_model.leftovers() == []


def test_a_missing_part_names_the_requirements_file(fake_model: FakeModel) -> None:
    fake_model.part(2).unlink()
    with pytest.raises(SetupError) as caught:
        ensure_model(fake_model.settings, fake_model.spec)
    message = str(caught.value)
    assert "part 2 of 3 missing" in message and fake_model.spec.requirements in message
    assert not fake_model.target.exists() and fake_model.leftovers() == []


def test_a_part_shadowed_by_a_plain_module_is_a_clear_error(fake_model: FakeModel) -> None:
    """A stray PACKAGE3.py (a module, not a package) earlier on the path is 'missing', not a crash."""
    shadow = fake_model.site.parent / "shadow"
    shadow.mkdir()
    (shadow / f"{fake_model.spec.package}3.py").write_text("")
    sys.path.insert(0, str(shadow))
    try:
        with pytest.raises(SetupError, match="part 3 of 3 missing"):
            ensure_model(fake_model.settings, fake_model.spec)
    finally:
        sys.path.remove(str(shadow))


def test_a_hash_mismatch_names_the_requirements_file_and_leaves_nothing(fake_model: FakeModel) -> None:
    fake_model.part(3).write_bytes(b"tall")  # same size, other bytes
    with pytest.raises(SetupError) as caught:
        ensure_model(fake_model.settings, fake_model.spec)
    message = str(caught.value)
    assert "SHA-256" in message and fake_model.spec.sha256 in message
    assert fake_model.spec.requirements in message
    assert not fake_model.target.exists() and not fake_model.marker.exists()
    assert fake_model.leftovers() == []


def test_a_tampered_model_with_bad_parts_is_never_returned(fake_model: FakeModel) -> None:
    path = ensure_model(fake_model.settings, fake_model.spec)
    path.write_bytes(b"X" * len(JOINED))
    fake_model.part(1).write_bytes(b"Y" * len(PARTS[0]))
    with pytest.raises(SetupError, match="SHA-256"):
        ensure_model(fake_model.settings, fake_model.spec)
    fake_model.part(1).write_bytes(PARTS[0])  # reinstalled: the next call repairs it
    assert ensure_model(fake_model.settings, fake_model.spec).read_bytes() == JOINED


def test_known_models_name_their_requirements_files() -> None:
    repo = Path(__file__).resolve().parents[1]
    for name, spec in local_model.MODELS.items():
        assert spec.name == name and len(spec.sha256) == 64 and spec.parts >= 1
        assert (repo / spec.requirements).is_file(), spec.requirements


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))

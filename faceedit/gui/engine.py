"""The worker: one QObject in its own QThread owns the FaceModel; the document talks to it by requests.

Requests go into lanes (``model``, ``encode``, ``face`` and one per batch tag such as ``gallery`` or
``timeline``).  Each lane holds at most one pending request: a newer one replaces an older one that
has not started (latest wins), so a burst of slider events never builds a queue.  The worker is woken
by one queued call at a time and drains the lanes in priority order — model, encode, face, then
batches, which run in small chunks so that a slider drag is never stuck behind a long job.

Results come back through the ``Engine`` signals as plain data (``faceedit.gui.messages``: numpy
latents, packed RGB bytes for ``QImage``, numbers), so widgets never touch torch.  The engine drops stale results: a face older than
the one already delivered, a face decoded by a model that has since been replaced, a batch or a photo
encoding that a newer request has superseded.
"""
from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

from faceedit.formats import catalog
from faceedit.core.composite import Composite
from faceedit.core.faces import extract, face_from_crop
from faceedit.core.device import describe, device_error, pick_face_device, seconds_per_face
from faceedit.core.facemodel import FaceModel
from faceedit.core.images import crop_to_tensor, to_rgb_bytes
from faceedit.core.latent import interpolate_path, sample_prior
from faceedit.core.model import IMAGE_SIZE
from faceedit.core.modelfile import ModelFileError
from faceedit.gui.widgets.pixels import rgb32
from faceedit.gui.messages import (Batch, Decoded, Encoded, Face, Failure, Kind, Lane, ModelInfo, ModelLoaded,
                                   PhotoPatch, Purpose, Tag, Request, Skipped)

BUSY_AFTER_MS = 100  # the busy indicator shows only for requests slower than this
BATCH_CHUNK = 8  # faces per step of a batch job; the face lane gets its turn between steps
FACE_LANES = tuple(Lane)  # served before any batch lane, in this order


# ----------------------------------------------------------------------------- the shared inbox
class _Inbox:
    """One pending request per lane, guarded by a lock; tells the poster whether to wake the worker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[Lane | Tag, Request] = {}
        self._scheduled = False
        self.stopping = False
        self.decodes = 0  # faces the worker decoded, batches included
        self.face_decodes = 0  # "decode this latent" requests run (a slider burst coalesces: fewer than events)
        self.threads_before: int | None = None  # torch's thread count before the worker set it to 1

    def post(self, request: Request) -> bool:
        with self._lock:
            if self.stopping:
                return False
            self._pending[request.lane] = request
            if self._scheduled:
                return False
            self._scheduled = True
            return True

    def take(self, batch_busy: bool) -> tuple[Request | None, list[Request]]:
        """The next face-lane request, or else the new batch requests; marks idle when nothing is left."""
        with self._lock:
            if self.stopping:
                self._pending.clear()
                self._scheduled = False
                return None, []
            for lane in FACE_LANES:
                if lane in self._pending:
                    return self._pending.pop(lane), []
            batches = list(self._pending.values())
            self._pending.clear()
            if not batches and not batch_busy:
                self._scheduled = False
            return None, batches

    def stop(self) -> None:
        with self._lock:
            self.stopping = True
            self._pending.clear()


# ----------------------------------------------------------------------------- the worker (its own thread)
class _Worker(QObject):
    answered = Signal(object)

    def __init__(self, inbox: _Inbox, device: str | None):
        super().__init__()
        self._inbox = inbox
        self._device_pref = device
        self._model: FaceModel | None = None
        self._face_models: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model → single-face twin
        self._cache: dict[str, tuple[float, FaceModel]] = {}
        self._cache_keys: dict[str, str] = {}  # source (a name) -> its cache key, for a folder that vanished
        self._generation = 0
        self._batches: dict[str, object] = {}  # lane -> running generator
        self._composites: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # PhotoScene → Composite
        self._photo_base: tuple[tuple, np.ndarray] | None = None  # (generation, start latent), its face

    # --- the loop -------------------------------------------------------------------------------
    @Slot()
    def drain(self) -> None:
        if self._inbox.threads_before is None:
            # One 64×64 face decodes fastest on one thread, and the GUI keeps a core.  PyTorch has no
            # per-thread setting (this sets the process's intra-op pool), which is right for the editor
            # process, where all torch work runs in this worker; Engine.shutdown puts the count back.
            self._inbox.threads_before = torch.get_num_threads()
            torch.set_num_threads(1)
        while True:
            request, new_batches = self._inbox.take(bool(self._batches))
            if self._inbox.stopping:
                self._batches.clear()
                return
            if request is not None:
                self._answer(request)
                continue
            for batch in new_batches:  # latest wins: replaces a running job of the same lane
                self._batches[batch.lane] = self._run_batch(batch)
            if not self._batches:
                if not new_batches:
                    return
                continue
            lane = next(iter(self._batches))
            try:
                next(self._batches[lane])
            except StopIteration:
                del self._batches[lane]

    def _answer(self, request: Request) -> None:
        try:
            if request.kind != Kind.LOAD and request.generation != self._generation:
                self.answered.emit(Skipped(request.seq, request.lane))
                return
            if request.kind == Kind.LOAD:
                answer = self._do_load(request)
            elif request.kind == Kind.DECODE:
                answer = self._do_decode(request)
            elif request.kind == Kind.ENCODE:
                answer = self._do_encode(request)
            else:
                raise ValueError(f"unknown request {request.kind!r}")
            self.answered.emit(answer)
        except Exception as e:  # noqa: BLE001 - every failure reaches the user as a dialog, never kills the worker
            self.answered.emit(_failure(request, e))

    def _run_batch(self, request: Request):
        """A generator: one chunk per step, then the Batch (or a Failure) is emitted."""
        try:
            if request.generation != self._generation:
                self.answered.emit(Skipped(request.seq, request.lane))
                return
            start = time.perf_counter()
            latents = self._batch_latents(request)
            faces: list[Face] = []
            for i in range(0, len(latents), BATCH_CHUNK):
                faces.extend(self._faces(latents[i:i + BATCH_CHUNK]))
                if i + BATCH_CHUNK < len(latents):
                    yield
                    if request.generation != self._generation:  # the model changed in between
                        self.answered.emit(Skipped(request.seq, request.lane))
                        return
            self.answered.emit(Batch(request.seq, request.args["tag"], latents.numpy(), faces,
                                     time.perf_counter() - start, self._generation,
                                     request.args.get("context")))
        except Exception as e:  # noqa: BLE001 - as in _answer: a failed batch is a message, not a dead worker
            self.answered.emit(_failure(request, e))

    # --- model work --------------------------------------------------------------------------------
    def _faces(self, latents: torch.Tensor, model: FaceModel | None = None) -> list[Face]:
        if len(latents) == 0:
            return []
        model = model or self._model
        images = model.decode(latents)
        self._inbox.decodes += len(latents)
        if not torch.isfinite(images).all():  # never shown as a face (nor exported)
            raise ValueError(f"model {model.name} decoded this face to NaN or infinite pixels; nothing was changed")
        return [Face(*to_rgb_bytes(image)) for image in images]

    def _face_model(self) -> FaceModel:
        """The model for single faces: a CPU copy when that decodes one face faster (``pick_face_device``)."""
        model = self._model
        if model.device.type == "cpu":
            return model
        if model not in self._face_models:
            try:
                cpu = FaceModel(model.path, "cpu")
                timed = {"cpu": cpu, model.device.type: model}
                chosen = pick_face_device(model.device, lambda d: seconds_per_face(timed[d.type].decode,
                                                                                   model.latent_dim))
                self._face_models[model] = cpu if chosen.type == "cpu" else model
            except (OSError, ValueError, ModelFileError):  # the file is gone or the setting is wrong
                self._face_models[model] = model
        return self._face_models[model]

    def _load(self, source: str) -> FaceModel:
        try:
            path = catalog.resolve(source)
        except FileNotFoundError:  # a user model whose folder is gone still works from memory
            cached = self._cache.get(self._cache_keys.get(source, ""))
            if cached:
                return cached[1]
            raise
        key = str(Path(path).resolve()) if Path(path).exists() else str(path)
        try:
            stamp = os.stat(path).st_mtime
        except OSError:
            stamp = None
        cached = self._cache.get(key)
        if cached and (stamp is None or cached[0] == stamp):
            return cached[1]  # a model file that vanished after loading keeps working from memory
        model = FaceModel(path, self._device_pref)
        self._cache[key] = (stamp, model)
        self._cache_keys[source] = key
        return model

    def _do_load(self, request: Request) -> ModelLoaded:
        start = time.perf_counter()
        args = request.args
        old = self._model
        new = self._load(args["source"])
        carried = [self._carry(old, new, item) for item in args.get("carry") or ()]
        keep = list(args.get("keep") or ())
        for z in keep:
            if len(z) != new.latent_dim:
                raise ValueError(f"the latent has {len(z)} values, but {new.name} has {new.latent_dim} dimensions")
        if args.get("default_face"):
            gallery = new.gallery
            keep.append((gallery[0] if len(gallery) else new.mu_mean).numpy())
        # everything that can fail comes first: the worker switches only when the answer is complete
        info = _info(new, args["source"], self._generation + 1)
        kept = [np.asarray(z, dtype=np.float32) for z in keep]
        kept_faces = self._faces(torch.as_tensor(np.stack(kept)), new) if kept else []
        carried_faces = self._faces(torch.as_tensor(np.stack(carried)), new) if carried else []
        self._model = new
        self._generation += 1
        return ModelLoaded(request.seq, args["purpose"], info, kept, kept_faces, carried,
                           carried_faces, time.perf_counter() - start, args.get("context"))

    def _carry(self, old: FaceModel | None, new: FaceModel, item: np.ndarray) -> np.ndarray:
        """A latent of the old model (decoded, then encoded) or a 3×64×64 uint8 photo → a latent of the new."""
        item = np.asarray(item)
        if item.dtype == np.uint8:
            image = torch.as_tensor(item)
        elif old is None or old is new:
            return item.astype(np.float32)
        else:
            image = old.decode(torch.as_tensor(item, dtype=torch.float32))
        mu, _ = new.encode(image)
        return mu[0].numpy()

    def _do_decode(self, request: Request) -> Decoded:
        start = time.perf_counter()
        z = request.args["latent"]
        face = self._faces(torch.as_tensor(z).unsqueeze(0), self._face_model())[0]
        self._inbox.face_decodes += 1
        scene = request.args.get("scene")
        if scene is None:
            return Decoded(request.seq, z, face, time.perf_counter() - start, self._generation)
        difference = _pixels(face) - self._photo_base_face(request.args["start"])
        composite = self._composites.get(scene)
        if composite is None:
            composite = self._composites[scene] = Composite(scene.rgb, scene.face)
        edited = composite.apply(composite.masked(difference))
        x0, y0, x1, y1 = composite.region
        photo = PhotoPatch(scene, x0, y0, max(0, x1 - x0), max(0, y1 - y0), rgb32(edited[y0:y1, x0:x1]).tobytes())
        return Decoded(request.seq, z, face, time.perf_counter() - start, self._generation, photo, difference)

    def _photo_base_face(self, start: np.ndarray) -> np.ndarray:
        """The start latent's face (float32 pixels), decoded once per model and start."""
        key = (self._generation, start.tobytes())
        if self._photo_base is None or self._photo_base[0] != key:
            face = self._faces(torch.as_tensor(start).unsqueeze(0), self._face_model())[0]
            self._photo_base = key, _pixels(face)
        return self._photo_base[1]

    def _do_encode(self, request: Request) -> Encoded:
        start = time.perf_counter()
        image = request.args["image"]
        if isinstance(image, np.ndarray):  # an earlier crop, 3×64×64 uint8
            crop = torch.as_tensor(image)
        elif request.args.get("angle"):  # a tilted face: its crop turned so that the eyes are level
            face = face_from_crop(*request.args["box"], request.args["angle"])
            crop = torch.from_numpy(extract(np.asarray(image.convert("RGB")), face, IMAGE_SIZE))
            crop = crop.permute(2, 0, 1).contiguous()
        else:
            crop = crop_to_tensor(image, request.args.get("box"))
        mu, _ = self._model.encode(crop)
        face = self._faces(mu)[0]
        return Encoded(request.seq, mu[0].numpy(), face, crop.numpy(), time.perf_counter() - start,
                       self._generation, request.args.get("context"))

    def _batch_latents(self, request: Request) -> torch.Tensor:
        args = request.args
        if request.kind == Kind.LATENTS:
            return torch.as_tensor(np.asarray(args["latents"], dtype=np.float32)).reshape(-1, self._model.latent_dim)
        if request.kind == Kind.PRIOR:
            generator = torch.Generator().manual_seed(int(args["seed"]))
            return sample_prior(args["count"], self._model.latent_dim, args["temperature"], generator,
                                self._model.prior)
        if request.kind == Kind.PATH:
            keys = [torch.as_tensor(k, dtype=torch.float32) for k in args["keys"]]
            count = args["frames"]
            ts = [i / (count - 1) for i in range(count)] if count > 1 else [0.0]
            return torch.stack([interpolate_path(keys, t, args["method"]) for t in ts])
        raise ValueError(f"unknown batch request {request.kind!r}")


def _pixels(face: Face) -> np.ndarray:
    return np.frombuffer(face.rgb, np.uint8).reshape(face.height, face.width, 3).astype(np.float32)


def _info(model: FaceModel, source: str, generation: int) -> ModelInfo:
    meta = model.metadata
    names = list(meta.get("gallery_names") or [])
    return ModelInfo(
        source=source, name=model.name, path=str(model.path), beta=model.beta, latent_dim=model.latent_dim,
        kl_per_dim=model.kl_per_dim.numpy().copy(), mu_mean=model.mu_mean.numpy().copy(),
        mu_std=model.mu_std.numpy().copy(),
        attributes={k: v.numpy().copy() for k, v in model.attributes.items()},
        gallery=model.gallery.numpy().copy(), gallery_names=[str(n) for n in names],
        device=describe(model.device), metrics=dict(meta.get("metrics") or {}), generation=generation,
        attribute_problems={k: p for k in model.attributes if (p := model.attribute_problem(k))},
        attributes_scaled=model.attributes_scaled, attribute_unit_flip=model.attribute_unit_flip,
        dimension_attributes=[model.dimension_attribute(d) for d in range(model.latent_dim)])


def _failure(request: Request, error: Exception) -> Failure:
    purpose = request.args.get("purpose", request.kind)
    context = request.args.get("context")
    if isinstance(error, ModelFileError):
        return Failure(request.seq, request.lane, purpose, "Could not open the model", str(error), context)
    if isinstance(error, FileNotFoundError):
        return Failure(request.seq, request.lane, purpose, "Model not found", str(error), context)
    titles = {Kind.LOAD: "Could not switch the model", Kind.ENCODE: "Could not encode the photo",
              Kind.DECODE: "Could not decode the face"}
    title = titles.get(request.kind, "Could not compute the faces")
    message = str(error) if isinstance(error, (ValueError, OSError)) else f"{type(error).__name__}: {error}"
    line = device_error(error)  # MPS/CUDA out of memory, an operation MPS lacks: one clear line
    if line is not None:
        line = line.replace("--device cpu", "start FaceEdit with --device cpu")
        message = f"{line[0].upper()}{line[1:]}."
    return Failure(request.seq, request.lane, purpose, title, message, context)


# ----------------------------------------------------------------------------- the window's side
_LIVE: "weakref.WeakSet[Engine]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """A script that ends without closing its window still stops the worker threads cleanly."""
    for engine in list(_LIVE):
        try:
            engine.shutdown()
        except RuntimeError:  # its Qt objects are already gone
            pass


class Engine(QObject):
    """Lives in the GUI thread; posts requests to the worker thread and emits only fresh results."""

    modelLoaded = Signal(object)  # ModelLoaded
    faceDecoded = Signal(object)  # Decoded
    photoEncoded = Signal(object)  # Encoded
    batchDecoded = Signal(object)  # Batch
    failed = Signal(object)  # Failure
    busyChanged = Signal(bool)
    _wake = Signal()

    def __init__(self, device: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self._seq = 0
        self._latest: dict[Lane | Tag, int] = {}  # lane -> newest seq posted
        self._waiting: dict[Lane | Tag, float] = {}  # lane -> since when an answer is outstanding
        self._shown_face = 0  # newest face seq delivered (or claimed by a face shown directly)
        self._superseded: ModelLoaded | None = None  # a load the worker did, answered after a newer was posted
        self.generation = 0
        self.busy = False
        self._inbox = _Inbox()
        self._thread = QThread()
        self._thread.setObjectName("faceeditEngine")
        self._worker = _Worker(self._inbox, device)
        self._worker.moveToThread(self._thread)
        self._wake.connect(self._worker.drain)
        self._worker.answered.connect(self._on_answer)
        self._thread.finished.connect(self._worker.deleteLater)
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.timeout.connect(self._check_busy)
        app = QCoreApplication.instance()
        if app is not None:  # never leave a running QThread behind when the application quits
            app.aboutToQuit.connect(self.shutdown)
        self._thread.start()
        _LIVE.add(self)

    # --- requests (all return the request's seq) ------------------------------------------------------
    def load_model(self, source: str, *, keep=(), carry=(), default_face: bool = False,
                   purpose: Purpose = Purpose.SWITCH, context=None) -> int:
        """Load ``source`` (name or path). ``keep``: latents of the new model, decoded as they are;
        ``carry``: latents of the current model or uint8 photos, re-encoded into the new one."""
        return self._post(Lane.MODEL, Kind.LOAD, source=str(source), keep=[np.asarray(z, np.float32) for z in keep],
                          carry=[np.asarray(c) for c in carry], default_face=default_face,
                          purpose=purpose, context=context)

    def decode(self, latent, scene=None, start=None) -> int:
        """Decode one face; with a ``PhotoScene`` and the start latent, also put the edit
        (decode(latent) − decode(start)) back into the photo."""
        args = {} if scene is None else {"scene": scene, "start": np.array(start, dtype=np.float32)}
        return self._post(Lane.FACE, Kind.DECODE, latent=np.array(latent, dtype=np.float32), **args)

    def encode_photo(self, image, box=None, context=None, angle: float = 0.0) -> int:
        """``image``: an upright RGB PIL image with ``box`` (left, top, side; None: the centre square),
        turned by ``angle`` degrees about its centre, or a 3×64×64 uint8 array (a crop encoded before)."""
        return self._post(Lane.ENCODE, Kind.ENCODE, image=image, box=box, angle=float(angle), context=context)

    def decode_batch(self, tag: Tag, latents, context=None) -> int:
        return self._post(tag, Kind.LATENTS, tag=tag, latents=np.array(latents, dtype=np.float32), context=context)

    def sample(self, tag: Tag, count: int, temperature: float, seed: int, context=None) -> int:
        return self._post(tag, Kind.PRIOR, tag=tag, count=int(count), temperature=float(temperature),
                          seed=int(seed), context=context)

    def interpolate(self, tag: Tag, keys, frames: int, method: str = "slerp", context=None) -> int:
        return self._post(tag, Kind.PATH, tag=tag, keys=[np.array(k, dtype=np.float32) for k in keys],
                          frames=int(frames), method=method, context=context)

    def claim_face(self) -> int:
        """The window shows a face it already has: any face result still on its way is now stale."""
        self._seq += 1
        self._shown_face = self._seq
        return self._seq

    @property
    def latest_face_seq(self) -> int:
        return max(self._latest.get(Lane.FACE, 0), self._shown_face)

    @property
    def decodes(self) -> int:
        """How many faces the worker has decoded, batches included."""
        return self._inbox.decodes

    @property
    def face_decodes(self) -> int:
        """How many single-face decode requests ran (the slider lane)."""
        return self._inbox.face_decodes

    def pending(self, lanes=None) -> bool:
        """Whether an answer is outstanding (in the given lanes, or any)."""
        return any(lane in self._waiting for lane in lanes) if lanes is not None else bool(self._waiting)

    def _post(self, lane: Lane | Tag, kind: Kind, **args) -> int:
        self._seq += 1
        self._latest[lane] = self._seq
        self._waiting.setdefault(lane, time.monotonic())
        if not self._busy_timer.isActive() and not self.busy:
            self._busy_timer.start(BUSY_AFTER_MS)
        if self._inbox.post(Request(lane, self._seq, kind, self.generation, args)):
            self._wake.emit()
        return self._seq

    # --- answers --------------------------------------------------------------------------------------
    @Slot(object)
    def _on_answer(self, answer) -> None:
        if self._inbox.stopping:
            return
        lane = getattr(answer, "lane", None) or _lane_of(answer)
        latest = self._latest.get(lane, 0) == answer.seq
        if latest:
            self._waiting.pop(lane, None)
        elif lane in self._waiting:
            self._waiting[lane] = time.monotonic()  # the worker has moved on to the newest request
        self._update_busy()
        if isinstance(answer, Skipped):
            return
        if isinstance(answer, Failure):
            if latest:
                if lane == Lane.MODEL and self._superseded is not None:
                    # the newest load failed, but the worker holds an earlier one now: show that one
                    self._adopt(self._superseded)
                self.failed.emit(answer)
            return
        if isinstance(answer, ModelLoaded):
            if latest:
                self._adopt(answer)
            elif answer.info.generation > self.generation:
                self._superseded = answer
            return
        if answer.generation != self.generation:
            return
        if isinstance(answer, Decoded):
            if answer.seq > self._shown_face:
                self._shown_face = answer.seq
                self.faceDecoded.emit(answer)
        elif latest and isinstance(answer, Encoded):
            self.photoEncoded.emit(answer)
        elif latest and isinstance(answer, Batch):
            self.batchDecoded.emit(answer)

    def _adopt(self, loaded: ModelLoaded) -> None:
        self._superseded = None
        self.generation = loaded.info.generation
        self._shown_face = self._seq  # faces of the old model are stale now
        self.modelLoaded.emit(loaded)

    def _update_busy(self) -> None:
        if not self._waiting:
            self._busy_timer.stop()
            self._set_busy(False)
        elif not self.busy and not self._busy_timer.isActive():
            self._busy_timer.start(BUSY_AFTER_MS)

    def _check_busy(self) -> None:
        if not self._waiting:
            return
        age_ms = (time.monotonic() - min(self._waiting.values())) * 1000
        if age_ms >= BUSY_AFTER_MS:
            self._set_busy(True)
        else:
            self._busy_timer.start(int(BUSY_AFTER_MS - age_ms) + 1)

    def _set_busy(self, busy: bool) -> None:
        if busy != self.busy:
            self.busy = busy
            self.busyChanged.emit(busy)

    # --- shutdown -------------------------------------------------------------------------------------
    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Drop pending work, let the running step finish, stop the thread. Safe to call twice."""
        self._inbox.stop()
        self._busy_timer.stop()
        self._waiting.clear()
        if self._thread.isRunning():
            self._thread.quit()
            if not self._thread.wait(timeout_ms):
                # A step that outlasts the wait (a model read from a very slow disk) must not have its
                # QThread destroyed while it runs: Qt would abort the process.  Keep it until it ends.
                entry = (self._thread, self._worker)
                _UNFINISHED.append(entry)
                self._thread.finished.connect(lambda: entry in _UNFINISHED and _UNFINISHED.remove(entry))
                return False
        before, self._inbox.threads_before = self._inbox.threads_before, None
        if before is not None and not any(e is not self and e.is_running() for e in list(_LIVE)):
            torch.set_num_threads(before)  # the last engine gone: the process gets its threads back
        return True

    def is_running(self) -> bool:
        return self._thread.isRunning()


_UNFINISHED: list = []  # engines' threads still running after shutdown gave up waiting


def _lane_of(answer) -> Lane | Tag:
    if isinstance(answer, ModelLoaded):
        return Lane.MODEL
    if isinstance(answer, Decoded):
        return Lane.FACE
    if isinstance(answer, Encoded):
        return Lane.ENCODE
    return answer.tag

"""The window's project commands: Save, Save As, opening a project, the unsaved-work prompt, autosave
and recovery (for ``MainWindow``).

Autosave: ``AUTOSAVE_MS`` after the first unsaved change, the work is written as a recovery copy (a
project file) into ``faceedit.formats.project.recovery_dir()``: ``session-ID.faceedit``, next to a
``QLockFile`` ``session-ID.lock`` that this window holds while it runs.  A clean quit, a discard and an
explicit save remove the copy.  On the next start, a copy whose lock nobody holds (its window was
killed or crashed) is offered back (``recoveryDialog``).
"""
from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from PySide6.QtCore import QDateTime, QLockFile, QSignalBlocker, QTimer
from PySide6.QtWidgets import QMessageBox

from faceedit.formats import project as projectfile
from faceedit.gui import settings as app_settings
from faceedit.gui.project_state import ProjectContext

AUTOSAVE_MS = 30_000  # after a change (tests shorten it)
PROJECT_FILTER = "FaceEdit project (*.faceedit)"
Button = QMessageBox.StandardButton


def _lock(path: Path) -> QLockFile:
    lock = QLockFile(str(path))
    lock.setStaleLockTime(0)  # stale only when the process that took it is gone
    return lock


class ProjectActionsMixin:
    """Save / Save As / open a project / quit prompt / autosave / recovery (for ``MainWindow``)."""

    project_path: str | None = None

    def _init_projects(self) -> None:
        self.project_path = None
        self._session = uuid.uuid4().hex
        self._session_lock: QLockFile | None = None
        self._orphan: tuple[Path, QLockFile] | None = None  # a recovery copy being offered or restored
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setObjectName("autosaveTimer")
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.setInterval(AUTOSAVE_MS)
        self.autosave_timer.timeout.connect(self.autosave)
        doc = self.document
        doc.modifiedChanged.connect(self.setWindowModified)
        doc.contentChanged.connect(self._schedule_autosave)
        doc.projectOpened.connect(self._project_opened)
        doc.modelChanged.connect(lambda _info, first: first and QTimer.singleShot(0, self.offer_recovery))
        self.timeline.fps.valueChanged.connect(lambda _: doc.touch())
        self.timeline.loop.toggled.connect(lambda _: doc.touch())
        self._update_title()

    def _update_title(self) -> None:
        name = Path(self.project_path).name if self.project_path else ""
        self.setWindowTitle(f"{name}[*] — FaceEdit" if name else "FaceEdit[*]")

    def timeline_settings(self) -> projectfile.Timeline:
        return projectfile.Timeline(self.document.method, self.document.frames_per_step, self.timeline.fps.value(),
                                    self.timeline.loop.isChecked(), self.timeline.frame())

    def current_project(self) -> projectfile.Project | None:
        return self.document.to_project(self.timeline_settings(), app_settings.embed_photos(self.settings))

    # ================================================================================== save
    def save_project(self) -> bool:
        """Save to the project's file, or ask for one (Save As)."""
        if self.project_path:
            return self.save_project_to(self.project_path)
        return self.save_project_as()

    def save_project_as(self) -> bool:
        name = Path(self.project_path).name if self.project_path else "Untitled.faceedit"
        path = self.ask_save_path("Save project", name, PROJECT_FILTER)
        return bool(path) and self.save_project_to(path)

    def save_project_to(self, path: str | os.PathLike) -> bool:
        """Write the project (all or nothing); it becomes the window's file and the work is saved."""
        if self.document.switching:
            self.statusBar().showMessage("A model is loading; save again when it is ready.", 5000)
            return False
        project = self.current_project()
        if project is None:
            return False
        path = Path(path)
        if path.suffix.lower() != projectfile.SUFFIX:
            path = path.with_name(path.name + projectfile.SUFFIX)
        try:
            projectfile.write(path, project, self._app_label())
        except projectfile.ProjectError as e:
            self.show_error("Could not save the project", f"{e}\n\nChoose another place; your work is unchanged.")
            return False
        self.project_path = str(path.resolve())
        self.document.mark_saved()
        self._update_title()
        app_settings.remember(self.settings, path)
        self._remove_recovery()
        self.statusBar().showMessage(f"Saved {path.name}", 5000)
        return True

    @staticmethod
    def _app_label() -> str:
        from faceedit import __version__

        return f"FaceEdit {__version__}"

    # ================================================================================== open
    def open_project_file(self, path: str | os.PathLike) -> bool:
        """Read a project (strictly: a bad file is one message and nothing changes), then open it; unsaved
        work is offered to be saved first."""
        if self.state is None:
            return False
        try:
            project = projectfile.read(path)
        except projectfile.ProjectError as e:
            self.show_error("Could not open the project", f"{e}\n\nYour face and history are unchanged.")
            return False
        if not self.keep_unsaved_work(f"before opening {Path(path).name}"):
            return False
        return self.document.open_project(project, str(Path(path).resolve()))

    def _project_opened(self, context: ProjectContext) -> None:
        project = context.project
        timeline = project.timeline
        t = self.timeline
        blockers = [QSignalBlocker(w) for w in (t.fps, t.loop, t.steps, t.method)]
        t.fps.setValue(timeline.fps)
        t.loop.setChecked(timeline.loop)
        t.steps.setValue(timeline.frames_per_step)
        t.method.setCurrentIndex(max(0, t.method.findData(timeline.method)))
        del blockers
        if context.recovered:
            self.project_path = project.file
            self._adopt_orphan()
            self.document.mark_modified()
            done = "Restored the unsaved work"
        else:
            self.project_path = context.path
            self.document.mark_saved()
            app_settings.remember(self.settings, context.path)
            done = f"Opened {Path(context.path).name}"
        self._update_title()
        if project.history_label:
            done += f" (saved after “{project.history_label}”, step {project.history_step} of {project.history_steps})"
        self.statusBar().showMessage(done, 8000)

    # ================================================================================== unsaved work
    def keep_unsaved_work(self, when: str = "before closing") -> bool:
        """Unsaved work: Save / Discard / Cancel.  True when it is saved or may go, False to stay."""
        if not self.document.is_modified():
            return True
        answer = self.ask_unsaved_changes(when)
        if answer == Button.Save:
            return self.save_project()
        return answer == Button.Discard

    def ask_unsaved_changes(self, when: str) -> QMessageBox.StandardButton:
        """The Save / Discard / Cancel question (tests answer it by clicking its buttons)."""
        name = Path(self.project_path).name if self.project_path else "this face, its keyframes and timeline"
        box = QMessageBox(QMessageBox.Icon.Warning, "Save changes?", f"Do you want to save {name} {when}?",
                          Button.Save | Button.Discard | Button.Cancel, self)
        box.setObjectName("unsavedChangesDialog")
        box.setAccessibleName("Save changes?")
        box.setInformativeText("If you don't save, your changes are lost.")
        box.setDefaultButton(Button.Save)
        box.setEscapeButton(Button.Cancel)
        for button, name in ((Button.Save, "saveChangesButton"), (Button.Discard, "discardChangesButton"),
                             (Button.Cancel, "cancelCloseButton")):
            box.button(button).setObjectName(name)
        answer = box.exec()
        box.deleteLater()
        return Button(answer)

    # ================================================================================== autosave
    def _schedule_autosave(self) -> None:
        if self._closing:
            return
        if not self.document.is_modified():
            self._remove_recovery()  # back to what is saved: nothing to recover
        elif not self.autosave_timer.isActive():
            self.autosave_timer.start()

    def recovery_file(self) -> Path:
        return projectfile.recovery_dir() / f"session-{self._session}{projectfile.SUFFIX}"

    def autosave(self) -> bool:
        """Write the recovery copy now (the timer calls this); with nothing unsaved, remove it."""
        doc = self.document
        if self._closing:
            return False
        if not doc.is_modified():
            self._remove_recovery()
            return False
        if doc.switching:
            self.autosave_timer.start()  # the face is between two models: try again later
            return False
        project = self.current_project()
        if project is None:
            return False
        project.file = self.project_path
        path = self.recovery_file()
        try:
            if self._session_lock is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                lock = _lock(path.with_suffix(".lock"))
                if not lock.tryLock(0):
                    raise projectfile.ProjectError(f"{path.with_suffix('.lock')}: cannot be locked")
                self._session_lock = lock
            projectfile.write(path, project, self._app_label())
        except (projectfile.ProjectError, OSError) as e:
            self.statusBar().showMessage(f"Autosave failed: {e}", 10_000)
            return False
        return True

    def _remove_recovery(self) -> None:
        self.autosave_timer.stop()
        with contextlib.suppress(OSError):
            self.recovery_file().unlink()

    def _end_session(self) -> None:
        """A clean quit: the recovery copy goes, and so do the locks."""
        self._remove_recovery()
        if self._session_lock is not None:
            self._session_lock.unlock()
            self._session_lock = None
        if self._orphan is not None:
            self._orphan[1].unlock()
            self._orphan = None

    # ================================================================================== recovery
    def orphaned_recoveries(self) -> list[tuple[Path, QLockFile]]:
        """Recovery copies whose window is gone, newest first, each with its lock (now held by us)."""
        folder = projectfile.recovery_dir()
        try:
            files = sorted(folder.glob(f"session-*{projectfile.SUFFIX}"), key=lambda p: p.stat().st_mtime,
                           reverse=True)
        except OSError:
            return []
        found = []
        for path in files:
            if path == self.recovery_file():
                continue
            lock = _lock(path.with_suffix(".lock"))
            if lock.tryLock(0):
                found.append((path, lock))
        return found

    def offer_recovery(self) -> None:
        """After a crash or kill: offer the newest orphaned recovery copy back (others wait for the next start)."""
        if self._orphan is not None or self._closing or self.state is None:
            return
        found = self.orphaned_recoveries()
        for _, lock in found[1:]:
            lock.unlock()
        if not found:
            return
        path, lock = found[0]
        try:
            project = projectfile.read(path)
        except projectfile.ProjectError as e:
            damaged = path.with_name(path.name + ".damaged")
            with contextlib.suppress(OSError):
                os.replace(path, damaged)
            lock.unlock()
            self.show_error("Could not restore the unsaved work", f"{e}\n\nThe copy was kept as {damaged}.")
            return
        self._orphan = (path, lock)
        when = QDateTime.fromSecsSinceEpoch(int(path.stat().st_mtime)).toString("d MMM yyyy, HH:mm")
        what = Path(project.file).name if project.file else "a face that was never saved"
        box = QMessageBox(QMessageBox.Icon.Question, "Restore unsaved work?",
                          f"FaceEdit closed without saving your work ({what}, autosaved {when}).\n\n"
                          "Restore it?", QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("recoveryDialog")
        box.setAccessibleName("Restore unsaved work?")
        restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        restore.setObjectName("restoreRecoveryButton")
        restore.setAccessibleName("Restore the unsaved work")
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        discard.setObjectName("discardRecoveryButton")
        discard.setAccessibleName("Discard the unsaved work")
        later = box.addButton("Not Now", QMessageBox.ButtonRole.RejectRole)
        later.setObjectName("laterRecoveryButton")
        later.setAccessibleName("Keep the unsaved work for the next start")
        box.setDefaultButton(restore)
        box.setEscapeButton(later)

        def answered(button) -> None:
            box.deleteLater()
            if button is restore:
                self._restore_orphan(project)
            elif button is discard:
                self._drop_orphan(delete=True)
            else:
                self._drop_orphan(delete=False)
        box.buttonClicked.connect(answered)
        box.open()

    def _restore_orphan(self, project: projectfile.Project) -> None:
        if not self.keep_unsaved_work("before restoring the unsaved work") \
                or not self.document.open_project(project, str(self._orphan[0]), recovered=True):
            self._drop_orphan(delete=False)

    def _adopt_orphan(self) -> None:
        """The restored copy becomes this session's recovery copy (until the next autosave replaces it)."""
        if self._orphan is None:
            return
        path, lock = self._orphan
        self._orphan = None
        try:
            if self._session_lock is None:
                own = _lock(self.recovery_file().with_suffix(".lock"))
                if own.tryLock(0):
                    self._session_lock = own
            if self._session_lock is not None:
                os.replace(path, self.recovery_file())
        except OSError:
            pass  # it stays where it is, and is offered again if this session ends badly too
        lock.unlock()

    def _drop_orphan(self, delete: bool) -> None:
        if self._orphan is None:
            return
        path, lock = self._orphan
        self._orphan = None
        if delete:
            with contextlib.suppress(OSError):
                path.unlink()
        lock.unlock()

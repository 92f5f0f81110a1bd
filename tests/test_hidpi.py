"""Retina: with QT_SCALE_FACTOR=2 (offscreen), thumbnails and the photo comparison image are made at physical
resolution, so they are resampled once.  The QApplication is shared by the other tests, so this one runs in
its own process."""
import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json, sys
    from PySide6.QtCore import QSize, Qt
    from PySide6.QtGui import QImage, QColor
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from faceedit.gui.widgets.gallery import GalleryPanel
    from faceedit.gui.widgets.timeline import TimelinePanel

    def stripes(side):
        # 2-pixel black and white columns: sharp only when each scaling step keeps whole pixels
        image = QImage(side, side, QImage.Format.Format_RGB888)
        for x in range(side):
            colour = QColor(0, 0, 0) if (x // 2) % 2 == 0 else QColor(255, 255, 255)
            for y in range(side):
                image.setPixelColor(x, y, colour)
        return image

    def sharp_edges(widget):
        # adjacent pixel pairs, across the rendered widget, that differ by more than 160 in green
        app.processEvents()
        shot = widget.grab()
        image = shot.toImage().convertToFormat(QImage.Format.Format_RGB888)
        edges = 0
        for y in range(0, image.height(), 2):
            row = [image.pixelColor(x, y).green() for x in range(image.width())]
            edges += sum(1 for a, b in zip(row, row[1:]) if abs(a - b) > 160)
        return shot.devicePixelRatio(), edges

    out = {"ratio": app.devicePixelRatio()}
    gallery = GalleryPanel()
    gallery.resize(300, 200)
    gallery.show()
    gallery.add_face("model", stripes(256))
    view = gallery.lists["model"]
    pixmap = view.item(0).icon().pixmap(QSize(64, 64), 2.0)
    out["gallery_pixmap"] = [pixmap.width(), pixmap.devicePixelRatio()]
    out["gallery_grab"] = sharp_edges(view)

    timeline = TimelinePanel()
    timeline.resize(500, 200)
    timeline.show()
    timeline.insert_keyframes([(0, 1, timeline.thumbnail(stripes(224)))])
    out["timeline_grab"] = sharp_edges(timeline.keyframes)

    from faceedit.gui.app import MainWindow
    window = MainWindow(model="beta1")
    from PySide6.QtWidgets import QMessageBox
    window.ask_unsaved_changes = lambda when: QMessageBox.StandardButton.Discard  # a script: no prompt at close
    window.show()
    while not window.ready():
        app.processEvents()
    path = sys.argv[1]
    stripes(1024).save(path)
    window.ask_crop = lambda image, path: (0, 0, 1024)
    steps = window.undo_stack.count()
    window.open_path(path)
    while window.undo_stack.count() == steps or not window.face_settled():
        app.processEvents()
    start = window.state.start.image
    out["compare"] = [start.width(), start.devicePixelRatio()]
    window.close()
    print(json.dumps(out))
""")


def test_pixmaps_are_at_physical_resolution_on_a_2x_screen(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": "2", "FACEEDIT_DEVICE": "cpu",
           "FACEEDIT_SETTINGS": str(tmp_path / "settings.ini"), "FACEEDIT_MODEL_DIR": str(tmp_path / "models")}
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "stripes.png")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["ratio"] == 2
    assert out["gallery_pixmap"] == [128, 2.0]  # 64 logical pixels, drawn from 128 physical ones
    assert out["compare"] == [1024, 2.0]  # the photo behind Compare: 512 logical, 1024 physical
    ratio, edges = out["gallery_grab"]
    assert ratio == 2 and edges > 1500, out  # the stripes survive: 1-pixel columns at 128 physical pixels
    ratio, edges = out["timeline_grab"]
    assert ratio == 2 and edges > 1500, out

"""Start the real editor, make a few edits, and screenshot the X display (run under xvfb-run)."""
import os, subprocess, sys, tempfile, time
os.environ["FACEEDIT_SETTINGS"] = os.path.join(tempfile.mkdtemp(), "s.ini")
from PySide6.QtWidgets import QApplication, QMessageBox
from faceedit.gui.app import MainWindow, apply_look

out = sys.argv[1]
app = QApplication(sys.argv[:1])
app.setApplicationName("FaceEdit")
apply_look(app)
w = MainWindow()
w.ask_unsaved_changes = lambda when: QMessageBox.StandardButton.Discard  # no prompt at close
w.resize(1360, 860)
w.move(0, 0)
w.show()

def spin(cond, timeout=30):
    end = time.time() + timeout
    while not cond() and time.time() < end:
        app.processEvents(); time.sleep(0.01)

def pump(seconds):
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents(); time.sleep(0.01)

spin(lambda: w.face_settled() and not w.engine.pending())
spin(lambda: w.gallery.face_count("model") > 20)
w.pick_start_face("model", int(os.environ.get("FACE_A", "11")))
spin(w.face_settled); w.add_keyframe()
w.attribute_panel.slider("Smiling").setValue(440)
spin(w.face_settled); w.add_keyframe()
w.pick_start_face("model", int(os.environ.get("FACE_B", "4")))
spin(w.face_settled); w.add_keyframe()
spin(lambda: w.face_settled() and not w.engine.pending())
pump(0.3)
w.timeline.set_frame(int(os.environ.get("FRAME", "30")))
w.attribute_panel.slider("Young").setValue(390)
spin(lambda: w.face_settled() and not w.engine.pending())
pump(0.5)
if os.environ.get("PHOTO"):  # then a photo, cropped where the detector puts the face, smiling
    from faceedit.gui.open_actions import face_squares
    from faceedit.gui.widgets.pixels import image_bytes
    import numpy as np

    def first_face(image, path):
        data, width, height = image_bytes(image)
        return face_squares(np.frombuffer(data, np.uint8).reshape(height, width, 3))[0][0]
    w.ask_crop = first_face
    w.open_path(os.environ["PHOTO"])
    spin(lambda: w.document.current_photo() is not None and w.state.start.photo is not None)
    w.attribute_panel.slider("Smiling").setValue(int(os.environ.get("SMILE", "200")))
    spin(lambda: w.face_settled() and not w.engine.pending())
    if os.environ.get("COMPARE"):
        w.compare_action.setChecked(True)
    pump(0.5)
if os.environ.get("GRAB"):
    w.grab().save(out)
else:
    subprocess.run(["import", "-window", "root", "-crop", f"{w.frameGeometry().width()}x{w.frameGeometry().height()}+0+0", out], check=True)
print("saved", out, w.frameGeometry())
w.close()

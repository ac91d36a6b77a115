"""The demo page (Gradio): upload a photo, correct its moving region, choose the motion, animate, download.

Every handler calls :class:`dl_lightning.demo.session.PhotoDemo`; this file only lays out the page. Errors show
as one line in the status box (``#status``) and the app keeps running. One request runs at a time (Gradio's
queue, one worker for every event that uses the model). The page serves nothing but itself, the uploads and the
output folder: ``allowed_paths`` is that folder alone, and Gradio refuses every other file.
"""

from __future__ import annotations

import os
import traceback

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no usage pings, no version check

import gradio as gr  # noqa: E402

from dl_lightning.animation import DAYTIME_PATHS, load_motions  # noqa: E402
from dl_lightning.demo.session import DISPLAY_SIDE, OVERLAY, OVERLAY_ALPHA, PhotoDemo, Settings  # noqa: E402
from dl_lightning.errors import UserError, one_line  # noqa: E402

PRESET = "preset"
#: The sky's direction choices: (label, degrees counter-clockwise from "to the right").
DIRECTIONS = [("as the preset", PRESET)] + [
    (f"{arrow} {deg}°", deg) for arrow, deg in zip("→↗↑↖←↙↓↘", range(0, 360, 45))
]
MODEL = "model"  # the concurrency group of every event that runs a network: one at a time
HELP = (
    "Upload a landscape photo (any size). The blue layer is what will move (sky, clouds, water); where the "
    "prediction is unsure the photo is hatched in yellow. Paint with the brush to add to it, use the eraser to keep "
    "things still. Then press **Animate**. The same photo animates "
    "again with other settings without being inverted again."
)


def status_line(err: BaseException) -> str:
    """One line for the status box: a UserError's own message, anything else its type and message."""
    if isinstance(err, UserError):
        return f"**Error:** {one_line(err)}"
    traceback.print_exc()
    return f"**Error:** {type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'see the terminal'}"


def build_app(demo: PhotoDemo) -> gr.Blocks:
    """The page for ``demo``."""
    defaults = Settings()
    hexcolour = "#{:02x}{:02x}{:02x}".format(*OVERLAY)

    def on_upload(path: str | None):
        if not path:
            return gr.skip(), None, None, "Upload a photo to start."
        try:
            up = demo.upload(path)
        except Exception as err:  # the app keeps running whatever the upload was; the field is cleared for the next
            return None, None, None, status_line(err)
        editor = {"background": up.background, "layers": [up.layer], "composite": None}  # all canvas-sized
        w, h = up.size
        unsure = (
            f" The region is uncertain on {100 * up.uncertain:.1f}% of the photo (hatched in yellow): look there."
            if up.uncertain
            else ""
        )
        told = f"Photo {w}x{h}: the blue region moves.{unsure} Correct it with the brush, then Animate."
        return gr.skip(), editor, up.key, told

    def on_animate(
        key, editor, motion, speed, direction, water_speed, daytime, loop, size, frames,
        progress=gr.Progress(track_tqdm=True),  # noqa: B008 (Gradio's idiom: it fills this argument)
    ):  # fmt: skip
        if not key:
            return None, None, "**Error:** upload a photo first"
        layers = (editor or {}).get("layers") or [None]
        settings = Settings(
            motion=motion, speed=float(speed), direction=None if direction == PRESET else float(direction),
            water_speed=float(water_speed), daytime=daytime, loop=bool(loop),
            size=int(size), frames=int(frames),
        )  # fmt: skip
        try:
            result = demo.animate(key, layers[0], settings, lambda f, what: progress(f, desc=what))
        except Exception as err:
            return None, None, status_line(err)
        req, size_hw = result.report["request"], result.report.get("size", ["?", "?"])
        reused = "inversion re-used" if req["reused_inversion"] else "photo inverted"
        return (
            str(result.video) if result.video else None,
            [str(p) for p in result.files],
            f"Done in {req['seconds']:.1f} s ({reused}): {frames} frames at {size_hw[1]}x{size_hw[0]}, "
            f"saved in `{result.folder}`.",
        )

    with gr.Blocks(title="dl_lightning: animate a landscape photo", delete_cache=(3600, 24 * 3600)) as page:
        gr.Markdown(f"## Animate a landscape photo\n{HELP}\n\nModel: `{demo.paths.ckpt}`", elem_id="help")
        key = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                photo = gr.File(label="Photo", type="filepath", elem_id="photo")
                editor = gr.ImageEditor(
                    label="Moving region (brush: moves, eraser: stays still)", type="numpy", image_mode="RGBA",
                    sources=(), transforms=(), layers=False, elem_id="mask",
                    canvas_size=(DISPLAY_SIDE, DISPLAY_SIDE), fixed_canvas=False, height=560,
                    brush=gr.Brush(colors=[(hexcolour, OVERLAY_ALPHA)], color_mode="fixed"), eraser=gr.Eraser(),
                )  # fmt: skip
            with gr.Column(scale=2):
                motion = gr.Dropdown(list(load_motions()), value=defaults.motion, label="Sky motion")
                speed = gr.Slider(0, 4, value=defaults.speed, step=0.1, label="Speed (x the preset)")
                direction = gr.Dropdown(DIRECTIONS, value=PRESET, label="Sky direction")
                water_speed = gr.Slider(0, 4, value=1.0, step=0.1, label="Water speed (x the preset; 0: still)")
                daytime = gr.Dropdown(list(DAYTIME_PATHS), value=defaults.daytime, label="Time of day")
                loop = gr.Checkbox(defaults.loop, label="Seamless loop")
                size = gr.Slider(64, 2048, value=defaults.size, step=16, label="Output short side (px)", elem_id="size")
                frames = gr.Slider(4, 240, value=defaults.frames, step=1, label="Frames", elem_id="frames")
                run = gr.Button("Animate", variant="primary", elem_id="animate")
        status = gr.Markdown("Upload a photo to start.", elem_id="status")
        with gr.Row():
            video = gr.Video(label="Result", elem_id="result", autoplay=True, loop=True)
            files = gr.File(label="Download (MP4, GIF)", file_count="multiple", elem_id="downloads")
        photo.upload(on_upload, photo, [photo, editor, key, status], concurrency_id=MODEL, concurrency_limit=1)
        inputs = [key, editor, motion, speed, direction, water_speed, daytime, loop, size, frames]
        run.click(on_animate, inputs, [video, files, status], concurrency_id=MODEL, concurrency_limit=1)
    return page


def launch(demo: PhotoDemo, host: str = "127.0.0.1", port: int = 7860, quiet: bool = False) -> None:
    """Serve the page until interrupted; only ``demo.out`` (the outputs) is served besides the app."""
    page = build_app(demo)
    page.queue(default_concurrency_limit=1)
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])  # no web fonts
    print(f"dl-demo: open http://{host}:{port} in a browser (Ctrl+C stops it); outputs go to {demo.mkroot()}/")
    page.launch(
        server_name=host, server_port=port, allowed_paths=[str(demo.mkroot().resolve())], share=False,
        ssr_mode=False, show_error=False, quiet=quiet, theme=theme, footer_links=[],
    )  # fmt: skip

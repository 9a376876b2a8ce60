"""The doctor's audio check: open the output the player will use, play a moment of silence through it, and say
when it is a null device (a device that discards the sound) or when none opens."""

from __future__ import annotations

NULL_DEVICE_NAMES = ("discard all samples", "null", "dummy")  # ALSA's null PCM, PulseAudio's null sink


def probe_audio(seconds: float = 0.25) -> tuple[str, str, int, float]:
    """Open the output the player will use (``--audio auto``: the system's default device), play ``seconds``
    of silence through it and close it: (output name, device name, frames the device took, seconds it took
    them in). Raises AudioOutputError when no device opens (the player then plays silently)."""
    import threading
    import time

    import numpy as np

    from player.media.audio_output import DeviceOutput

    taken = [0]
    enough = threading.Event()
    need = int(seconds * 48_000)

    def silence(frames: int, play_time: float) -> np.ndarray:
        taken[0] += frames
        if taken[0] >= need:
            enough.set()
        return np.zeros((frames, 2), dtype=np.float32)

    output = DeviceOutput(silence)
    try:
        device = ""
        try:
            import miniaudio

            device = miniaudio.ffi.string(output._device._device.playback.name).decode(errors="replace")
        except Exception:
            pass
        t0 = time.perf_counter()
        output.start()
        enough.wait(seconds + 2.0)
        elapsed = time.perf_counter() - t0
    finally:
        output.close()
    return output.name, device, taken[0], elapsed


def audio_check() -> dict:
    """The finding as the doctor's Check fields: ok, summary, fix, blocking (never: sessions run silently),
    details."""
    from player.media.audio_output import AudioOutputError

    fix = (
        "Connect the headset's audio, headphones or speakers and make it the system's default output. "
        "Sessions still run, but viewers will hear nothing."
    )
    try:
        name, device, frames, elapsed = probe_audio()
    except AudioOutputError as exc:
        return _finding(False, f"The player cannot open an audio output ({exc}).", fix)
    except Exception as exc:  # miniaudio missing or broken
        return _finding(False, f"Audio output unavailable ({type(exc).__name__}: {exc}).", fix)
    details = {"output": name, "device": device, "frames_played": frames, "seconds": round(elapsed, 3)}
    label = f"{device or 'the default device'} via {name}"
    # a device that takes sound much faster than it can play it discards it (ALSA's null PCM and the like)
    discards = frames > 1.5 * 48_000 * max(elapsed, 0.05)
    if discards or any(n in device.lower() for n in NULL_DEVICE_NAMES):
        summary = f"The default audio output is a null device ({label}: it discards sound)."
        return _finding(False, summary, fix, details)
    if frames == 0:
        return _finding(False, f"{label} opened but took no sound in 2 s (a stalled device).", fix, details)
    return _finding(True, f"{label}: played {frames / 48_000:.2f} s of silence", "", details)


def _finding(ok: bool, summary: str, fix: str, details: dict | None = None) -> dict:
    return {"ok": ok, "summary": summary, "fix": fix, "blocking": False, "details": details or {}}

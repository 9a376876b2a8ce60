"""Drive Monado's remote driver (`P_OVERRIDE_ACTIVE_CONFIG=remote monado-service`): head pose and controllers.

The remote driver is Monado's own debugging device: it listens on TCP port 4242 and takes `r_remote_data`
packets (header "mndrmt3", head pose, two Index-style controllers with buttons). Tests use it to turn the
simulated head to exact headings and to press real controller buttons that reach the application through
OpenXR actions, as a viewer's would.
"""

from __future__ import annotations

import math
import socket
import struct
import time
from dataclasses import dataclass, field

PORT = 4242
HEADER = b"mndrmt3\x00"
# r_head_data: 2 views x (fov 4f + pose 7f + pad u32) + centre pose 7f + per_view_data_valid + 3 pad bytes
HEAD = struct.Struct("<4f7fI4f7fI7f?3x")
# r_remote_controller_data: pose 7f, lin vel 3f, ang vel 3f, curl 5f, trigger, squeeze, force, stick 2f,
# trackpad force, trackpad 2f, then 16 bools (hand_tracking_active, active, system click/touch, a click/touch,
# b click/touch, trigger click/touch, thumbstick click/touch, trackpad touch, 3 pad)
CONTROLLER = struct.Struct("<7f3f3f5f3f2ff2f16?")
PACKET_SIZE = 8 + HEAD.size + 2 * CONTROLLER.size  # 376 for Monado 24-25
BUTTONS = ("system_click", "system_touch", "a_click", "a_touch", "b_click", "b_touch", "trigger_click",
           "trigger_touch", "thumbstick_click", "thumbstick_touch", "trackpad_touch")  # fmt: skip


def yaw_pitch_quat(heading_deg: float, pitch_deg: float = 0.0) -> tuple[float, float, float, float]:
    """Head orientation looking at heading `heading_deg` (clockwise) and `pitch_deg` (up), OpenXR axes."""
    yaw = -math.radians(heading_deg)  # clockwise heading = negative rotation about +Y
    pitch = math.radians(pitch_deg)
    qy = (0.0, math.sin(yaw / 2), 0.0, math.cos(yaw / 2))
    qx = (math.sin(pitch / 2), 0.0, 0.0, math.cos(pitch / 2))
    ax, ay, az, aw = qy
    bx, by, bz, bw = qx
    return (aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz)  # fmt: skip


@dataclass
class Controller:
    position: tuple[float, float, float] = (0.2, 1.3, -0.5)
    orientation: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    active: bool = True
    buttons: dict[str, bool] = field(default_factory=dict)

    def pack(self) -> bytes:
        flags = [False, self.active] + [bool(self.buttons.get(b)) for b in BUTTONS] + [False] * 3
        return CONTROLLER.pack(*self.orientation, *self.position, *([0.0] * 6), *([0.0] * 5),
                               1.0 if self.buttons.get("trigger_click") else 0.0, 0.0, 0.0, 0.0, 0.0,
                               0.0, 0.0, 0.0, *flags)  # fmt: skip


class MonadoRemote:
    """A connection to Monado's remote driver; `send()` after changing `head` or the controllers."""

    def __init__(self, host: str = "127.0.0.1", port: int = PORT, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.sock = socket.create_connection((host, port), timeout=2.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The hub first sends its reset and latest state; their size tells us the packet layout matches.
        got = b""
        self.sock.settimeout(2.0)
        while len(got) < 2 * PACKET_SIZE:
            chunk = self.sock.recv(2 * PACKET_SIZE - len(got))
            if not chunk:
                break
            got += chunk
        if len(got) != 2 * PACKET_SIZE:
            raise RuntimeError(f"Monado remote driver sent {len(got)} bytes, expected {2 * PACKET_SIZE}: "
                               "this Monado speaks another remote protocol version")  # fmt: skip
        self.head_orientation = (0.0, 0.0, 0.0, 1.0)
        self.head_position = (0.0, 1.6, 0.0)
        self.left = Controller(position=(-0.2, 1.3, -0.5))
        self.right = Controller(position=(0.2, 1.3, -0.5))
        self.send()

    def look(self, heading_deg: float, pitch_deg: float = 0.0) -> None:
        self.head_orientation = yaw_pitch_quat(heading_deg, pitch_deg)
        self.send()

    def press(self, hand: str, button: str, hold_s: float = 0.6) -> None:
        """Press and release a button (e.g. "b_click") on "left" or "right", holding it for `hold_s`."""
        self.hold(hand, button, True)
        time.sleep(hold_s)
        self.hold(hand, button, False)

    def hold(self, hand: str, button: str, down: bool) -> None:
        """Put a button (e.g. "b_click") on "left" or "right" down or up, and send the state."""
        ctrl = self.left if hand == "left" else self.right
        ctrl.buttons[button] = down
        self.send()

    def send(self) -> None:
        fov = (-0.8, 0.8, 0.8, -0.8)
        view = (*fov, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0)
        head = HEAD.pack(*view, *view, *self.head_orientation, *self.head_position, False)
        packet = HEADER + head + self.left.pack() + self.right.pack()
        assert len(packet) == PACKET_SIZE
        self.sock.sendall(packet)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

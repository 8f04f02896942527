"""Voilà's configuration for ``posegen app`` (``--Voila.config_file_paths`` points here; the numbers come on the
command line, ``viewpoint_app.voila_command``). It sets two Python objects, which a command line cannot:

- ``BoundedKernelManager``: at most ``max_kernels`` visitors (kernels of about half a gigabyte each) at once; the
  next one gets a page that says so (HTTP 503, ``templates/posegen/503.html``) instead of a kernel.
- ``set_xsrf_cookie``, run on each page request: Voilà's page sends the ``_xsrf`` cookie's value when its tab
  closes, to shut its kernel down, but Voilà never sets that cookie, so the shutdown was refused (403) and every
  page load left a kernel behind.

It also lets one websocket message carry an uploaded phone photo: at tornado's default (10 MiB) a larger file
closed the page's connection to its kernel.
"""

import uuid

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.web import HTTPError
from traitlets import Integer


class BoundedKernelManager(AsyncMappingKernelManager):
    """Jupyter's kernel manager with a bound on kernels; starts in progress hold their seat too (visitors
    arriving together)."""

    max_kernels = Integer(0, config=True, help="The most kernels (visitors) at once; 0: no bound.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._starting: set[str] = set()  # ids of kernels being started, not yet in list_kernel_ids()

    async def start_kernel(self, *args, kernel_id=None, **kwargs):
        if kernel_id is not None and kernel_id in self:  # an existing kernel: no new seat
            return await super().start_kernel(*args, kernel_id=kernel_id, **kwargs)
        kernel_id = kernel_id or str(uuid.uuid4())  # our id, so a start in progress is counted once
        seats = set(self.list_kernel_ids()) | self._starting
        if 0 < self.max_kernels <= len(seats):
            self.log.warning("posegen app: %d visitors at once, the bound; a new visitor is refused", len(seats))
            raise HTTPError(503, self._full_message(len(seats)))
        self._starting.add(kernel_id)
        try:
            return await super().start_kernel(*args, kernel_id=kernel_id, **kwargs)
        finally:
            self._starting.discard(kernel_id)

    def _full_message(self, visitors: int) -> str:
        who = "1 visitor is" if visitors == 1 else f"{visitors} visitors are"
        idle = ""
        if self.cull_idle_timeout > 0:
            idle = f" (a page left idle for {max(1, round(self.cull_idle_timeout / 60))} minutes is closed)"
        return (
            f"This demo is full: {who} using it, the most this server takes at once. Try again in a few minutes{idle}."
        )


def set_xsrf_cookie(req, notebook, cwd):
    """Voilà's prelaunch hook: reading tornado's ``xsrf_token`` sets the ``_xsrf`` cookie on the page's response
    (the headers are not sent yet), so the page's shutdown request on tab close passes the XSRF check."""
    req.xsrf_token  # noqa: B018  (read for its effect)


# A FileUpload sends the whole file in one message: room for a large phone photo, still bounded (the server and
# the kernel hold it in memory).
MAX_MESSAGE_BYTES = 64 * 2**20

c = get_config()  # noqa: F821  (defined by traitlets when it loads this file)
c.Voila.tornado_settings = {"websocket_max_message_size": MAX_MESSAGE_BYTES}
c.VoilaConfiguration.multi_kernel_manager_class = BoundedKernelManager
c.VoilaConfiguration.prelaunch_hook = set_xsrf_cookie

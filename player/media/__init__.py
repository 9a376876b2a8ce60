"""The player's media engine (see docs/transport.md).

- ``engine``: ``MediaEngine`` (the API), ``MediaInfo``, ``MediaError``
- ``transport``: ``TransportState`` and the one place that changes state and emits events
- ``frames``: ``VideoFrame`` (decoder planes, no conversion); ``frame_queue``: the byte-bounded queue
- ``video_decoder`` / ``audio_decoder`` (on ``decode_thread``): the decode threads
- ``audio_buffer``, ``mixer``, ``spatial``, ``stretch``: sound from decoded samples to output blocks
- ``audio_output``: miniaudio device or the null output; ``clock``: the master clock they anchor
"""

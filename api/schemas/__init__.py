"""The bodies clients send and receive (msgspec Structs), and the views of stored rows.

- ``params``: sampling parameters shared by threads and requests;
- ``tools``: client-defined functions a thread declares;
- ``threads``, ``messages``: the bodies of those endpoints;
- ``events``: the events of a generation, as SSE (and every other encoding) carries them;
- ``sse``: what every event stream writes beside its events;
- ``errors``: the body of every error answer;
- ``views``: stored rows turned into the bodies above.
"""

"""Every fake server of the tests, in one package; a test module takes what it needs from here.

- ``scripted``: ``MockServer``, an ``httpx.MockTransport`` handler that answers each request with the next reply of
  a script (protocol, error and retry scenarios), with ``Harness`` to run one scenario sync and async.
- ``sie``: ``FakeSIE``, an ``httpx.MockTransport`` handler that computes SIE's answers from the request (vectors,
  scores, extractions, chat and generate answers), records what it was sent, and can refuse or slow down requests.
- ``chat``: canned chat completion answers and streams, and ``connection()``, the arguments that wire an adapter to
  a MockTransport handler.
- ``hostile``: ``HostileServer``, a real socket server on 127.0.0.1 that misbehaves at the HTTP level (resets,
  stalls, huge lines).
- ``http2``: a real TLS HTTP/2 server (hypercorn) answering encode requests.
- ``served``: any of these handlers on a real socket on 127.0.0.1, for code that connects from other processes.
- ``queueing``: a virtual-time model of a server with slots and a queue (no HTTP), for the concurrency controller.
"""

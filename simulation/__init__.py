"""The live simulator (`manage.py simulate`): a realistic day of calls, dispatches, signatures, arrivals,
feedback and callbacks played on the demo city through the apps' services — `make run`'s demo mode.

It sits above the domain apps: it imports incidents and dispatch (and may import intel, supervision);
nothing in the domain imports it. It has no models."""

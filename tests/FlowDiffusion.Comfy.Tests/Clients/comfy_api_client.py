#!/usr/bin/env python3
"""A ComfyUI API client as ComfyUI's own websocket example writes one: standard library plus python3-websocket.

Usage: comfy_api_client.py HOST:PORT PROMPT.json OUT_DIR
Queues the prompt with a client id, listens on /ws until `executing` with node None for that prompt, then reads
/history/{prompt_id} and downloads every image through /view. Prints a JSON summary on stdout.
"""
import json
import os
import sys
import urllib.parse
import urllib.request
import uuid

import websocket  # Debian: python3-websocket

server, prompt_file, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
client_id = str(uuid.uuid4())


def queue_prompt(prompt):
    data = json.dumps({"prompt": prompt, "client_id": client_id}).encode("utf-8")
    req = urllib.request.Request(f"http://{server}/prompt", data=data)
    return json.loads(urllib.request.urlopen(req).read())


def get_history(prompt_id):
    with urllib.request.urlopen(f"http://{server}/history/{prompt_id}") as response:
        return json.loads(response.read())


def get_image(filename, subfolder, folder_type):
    query = urllib.parse.urlencode({"filename": filename, "subfolder": subfolder, "type": folder_type})
    with urllib.request.urlopen(f"http://{server}/view?{query}") as response:
        return response.read(), response.headers.get("Content-Type")


with open(prompt_file) as f:
    prompt = json.load(f)

ws = websocket.WebSocket()
ws.connect(f"ws://{server}/ws?clientId={client_id}")
prompt_id = queue_prompt(prompt)["prompt_id"]
types, previews, progress = [], 0, []
while True:
    out = ws.recv()
    if isinstance(out, str):
        message = json.loads(out)
        types.append(message["type"])
        if message["type"] == "progress":
            progress.append(message["data"]["value"])
        if message["type"] == "executing":
            data = message["data"]
            if data["node"] is None and data["prompt_id"] == prompt_id:
                break
    else:
        # Binary preview frame: 4-byte big-endian event type, 4-byte format, image bytes.
        event, fmt = int.from_bytes(out[0:4], "big"), int.from_bytes(out[4:8], "big")
        if event == 1 and fmt == 2 and out[8:16] == b"\x89PNG\r\n\x1a\n":
            previews += 1
ws.close()

history = get_history(prompt_id)[prompt_id]
files = []
for node_id, node_output in history["outputs"].items():
    for image in node_output.get("images", []):
        data, content_type = get_image(image["filename"], image["subfolder"], image["type"])
        path = os.path.join(out_dir, f"{node_id}_{image['filename']}")
        with open(path, "wb") as f:
            f.write(data)
        files.append({"node": node_id, "path": path, "content_type": content_type, "bytes": len(data)})

print(json.dumps({"prompt_id": prompt_id, "types": types, "progress": progress, "previews": previews,
                  "status": history["status"]["status_str"], "files": files}))

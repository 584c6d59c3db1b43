"""An AUTOMATIC1111 API script as users write them: stdlib urllib only.

Usage: a1111_api_client.py HOST:PORT OUTPUT_FOLDER
Lists the models, sets the checkpoint through /sdapi/v1/options, runs txt2img with a random seed, saves the images and
prints a JSON summary (the seed and infotext from info, each PNG's path and its "parameters" text chunk).
"""
import base64
import json
import os
import struct
import sys
import urllib.request


def call(base, route, payload=None):
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(base + route, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read().decode("utf-8"))


def png_text(png):
    texts, offset = {}, 8
    while offset + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[offset:offset + 8])
        body = png[offset + 8:offset + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            texts[key.decode("latin-1")] = value.decode("latin-1")
        offset += 12 + length
    return texts


def main():
    base, folder = "http://" + sys.argv[1], sys.argv[2]
    models = [m["title"] for m in call(base, "/sdapi/v1/sd-models")]
    call(base, "/sdapi/v1/options", {"sd_model_checkpoint": "analytic-sd"})
    answer = call(base, "/sdapi/v1/txt2img", {
        "prompt": "a green ball", "negative_prompt": "", "seed": -1, "steps": 4, "cfg_scale": 1,
        "width": 64, "height": 64, "sampler_name": "Euler a", "batch_size": 2,
    })
    info = json.loads(answer["info"])
    files = []
    for i, image in enumerate(answer["images"]):
        png = base64.b64decode(image)
        path = os.path.join(folder, "image-%d.png" % i)
        with open(path, "wb") as f:
            f.write(png)
        files.append({"path": path, "parameters": png_text(png).get("parameters")})
    print(json.dumps({"models": models, "seed": info["seed"], "all_seeds": info["all_seeds"], "infotexts": info["infotexts"],
                      "model": call(base, "/sdapi/v1/options")["sd_model_checkpoint"], "files": files}))


if __name__ == "__main__":
    main()

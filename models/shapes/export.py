"""Writes the diffusers ONNX folder: ONNX models (opset 17, every dimension dynamic), configs, tokenizer, manifest."""
import hashlib
import json
import os
import shutil

import torch

import networks as N

OPSET = 17


def _json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def _onnx(module, args, path, inputs, outputs, axes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, do_constant_folding=True)


def write_manifest(out):
    """manifest.json: every other file's SHA-256, relative path with forward slashes, sorted."""
    hashes = {}
    for root, _, files in os.walk(out):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, out).replace(os.sep, "/")
            if rel != "manifest.json":
                with open(path, "rb") as f:
                    hashes[rel] = hashlib.sha256(f.read()).hexdigest()
    _json(os.path.join(out, "manifest.json"), dict(sorted(hashes.items())))


def export(out, vae, text, unet, vocab, scaling_factor):
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    onnx = ["onnxruntime", "OnnxRuntimeModel"]
    _json(os.path.join(out, "model_index.json"), {
        "_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.6.0",
        "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
        "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": onnx, "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": onnx, "vae_decoder": onnx, "vae_encoder": onnx,
    })
    _json(os.path.join(out, "scheduler", "scheduler_config.json"), {
        "_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False, "num_train_timesteps": 1000,
        "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
    })
    vocab.write(os.path.join(out, "tokenizer"))
    width = text.token.embedding_dim
    _json(os.path.join(out, "text_encoder", "config.json"), {
        "architectures": ["CLIPTextModel"], "bos_token_id": vocab.bos, "eos_token_id": vocab.eos,
        "hidden_size": width, "max_position_embeddings": 77, "model_type": "clip_text_model",
        "num_hidden_layers": len(text.layers), "pad_token_id": vocab.eos, "vocab_size": len(vocab.tokens),
    })
    ids = torch.tensor([vocab.encode("a red circle on a blue background")], dtype=torch.int32)
    _onnx(N.TextEncoderExport(text), (ids,), os.path.join(out, "text_encoder", "model.onnx"), ["input_ids"],
          ["last_hidden_state", "pooler_output"],
          {"input_ids": {0: "batch", 1: "sequence"}, "last_hidden_state": {0: "batch", 1: "sequence"},
           "pooler_output": {0: "batch"}})
    _json(os.path.join(out, "unet", "config.json"), {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "cross_attention_dim": width,
        "in_channels": 4, "out_channels": 4, "sample_size": 8, "timestep_dtype": "float32",
    })
    _onnx(N.UNetExport(unet), (torch.randn(2, 4, 8, 8), torch.tensor([999.0, 999.0]), torch.randn(2, 77, width)),
          os.path.join(out, "unet", "model.onnx"), ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
          {"sample": {0: "batch", 2: "height", 3: "width"}, "timestep": {0: "batch"},
           "encoder_hidden_states": {0: "batch", 1: "sequence"}, "out_sample": {0: "batch", 2: "height", 3: "width"}})
    vae_config = {
        "_class_name": "AutoencoderKL", "_diffusers_version": "0.6.0", "in_channels": 3, "latent_channels": 4,
        "out_channels": 3, "sample_size": 64, "scaling_factor": round(scaling_factor, 5),
    }
    _json(os.path.join(out, "vae_encoder", "config.json"), vae_config)
    _json(os.path.join(out, "vae_decoder", "config.json"), vae_config)
    _onnx(N.VaeEncoderExport(vae), (torch.zeros(1, 3, 64, 64),), os.path.join(out, "vae_encoder", "model.onnx"),
          ["sample"], ["latent_sample"],
          {"sample": {0: "batch", 2: "height", 3: "width"}, "latent_sample": {0: "batch", 2: "height", 3: "width"}})
    _onnx(N.VaeDecoderExport(vae), (torch.zeros(1, 4, 8, 8),), os.path.join(out, "vae_decoder", "model.onnx"),
          ["latent_sample"], ["sample"],
          {"latent_sample": {0: "batch", 2: "height", 3: "width"}, "sample": {0: "batch", 2: "height", 3: "width"}})
    write_manifest(out)

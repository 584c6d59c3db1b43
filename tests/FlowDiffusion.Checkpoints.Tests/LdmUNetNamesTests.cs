using FlowDiffusion.Checkpoints.Weights;
using FlowDiffusion.Formats.Safetensors;

namespace FlowDiffusion.Checkpoints.Tests;

/// <summary>The diffusers → LDM/SGM UNet renaming (kohya's SDXL LoRA names) inverts the checkpoint reader's LDM → diffusers renaming on every UNet tensor.</summary>
public sealed class LdmUNetNamesTests
{
    public static TheoryData<string> Files => new() { Reference.LdmFile, SdxlReference.File };

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_unet_name_maps_back_to_its_single_file_key(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var keys = file.Tensors.Keys.ToArray();
        var unet = LdmKeyMap.Map(keys, path).Where(p => p.Value.Part == ModelPart.UNet).ToDictionary(p => p.Value.Name, p => p.Key);
        var back = LdmUNetNames.Of(unet.Keys);

        Assert.True(unet.Count > 50);
        Assert.All(unet, p => Assert.Equal(p.Value, LdmKeyMap.UNetPrefix + back.GetValueOrDefault(p.Key)));
    }
}

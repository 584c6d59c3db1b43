using System.CommandLine;
using System.Text.Json.Nodes;
using FlowDiffusion.Diffusion.Tokenization;

namespace FlowDiffusion.Cli.Commands;

/// <summary><c>flowdiffusion tokenize</c>: CLIP ids and tokens of a text, to compare with diffusers.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "A tokenizer folder (vocab.json + merges.txt) or a model folder.", Required = true, HelpName = "DIR" };
        var json = new Option<bool>("--json") { Description = "Print {\"ids\": [...], \"tokens\": [...]}." };
        var text = new Argument<string>("TEXT") { Description = "The text to tokenize." };
        var command = new Command("tokenize", "Show the token ids (BOS … EOS, unpadded) and tokens of a text.") { tokenizer, json, text };
        CommandAction.Set(command, (parse, _) =>
        {
            ClipTokenizer clip;
            try
            {
                clip = ClipTokenizer.FromFolder(parse.GetValue(tokenizer)!);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(ExitCodes.Failed);
            }
            var encoding = clip.Encode(parse.GetValue(text)!);
            if (parse.GetValue(json))
            {
                Console.WriteLine(new JsonObject
                {
                    ["ids"] = new JsonArray(encoding.Ids.Select(i => (JsonNode)i).ToArray()),
                    ["tokens"] = new JsonArray(encoding.Tokens.Select(t => (JsonNode)t).ToArray()),
                }.ToJsonString());
            }
            else
            {
                for (var i = 0; i < encoding.Ids.Count; i++)
                    Console.WriteLine($"{encoding.Ids[i],6}  {encoding.Tokens[i]}");
                Console.WriteLine($"{encoding.Ids.Count} tokens");
            }
            return Task.FromResult(ExitCodes.Ok);
        });
        return command;
    }
}

using System.Text.Json.Nodes;
using FlowDiffusion.Comfy.A1111;

namespace FlowDiffusion.Comfy.Tests.A1111;

/// <summary>The one reader of A1111 request fields that txt2img/img2img and the extras routes share.</summary>
public sealed class A1111FieldsTests
{
    [Fact]
    public void Numbers_are_taken_as_pydantic_takes_them_and_anything_else_is_refused_naming_the_field()
    {
        Assert.Equal(2, A1111Fields.Integer(JsonNode.Parse("2"), "f", 0, 8));
        Assert.Equal(2, A1111Fields.Integer(JsonValue.Create("2"), "f", 0, 8));
        Assert.Equal(-3, A1111Fields.Integer(JsonValue.Create("-3"), "f", -8, 8));
        Assert.Null(A1111Fields.Integer(null, "f", 0, 8));
        Assert.Equal(1.5, A1111Fields.Number(JsonValue.Create("1.5"), "f", 0, 8));
        Assert.Equal(0.25, A1111Fields.Number(JsonNode.Parse("0.25"), "f", 0, 8));
        Assert.Null(A1111Fields.Number(null, "f", 0, 8));
        Assert.Equal("x", A1111Fields.Text(JsonValue.Create("x"), "f"));
        Assert.Null(A1111Fields.Text(null, "f"));
        Assert.True(A1111Fields.Flag(JsonNode.Parse("true"), "f"));
        Assert.False(A1111Fields.Flag(JsonNode.Parse("false"), "f"));
        Assert.Null(A1111Fields.Flag(null, "f"));

        foreach (var (read, expected) in new (Action Read, string Detail)[]
        {
            (() => A1111Fields.Integer(JsonValue.Create("2.5"), "a.b", 0, 8), "must be an integer"),
            (() => A1111Fields.Integer(JsonNode.Parse("9"), "a.b", 0, 8), "9 is out of range 0–8"),
            (() => A1111Fields.Integer(JsonNode.Parse("[]"), "a.b", 0, 8), "must be an integer"),
            (() => A1111Fields.Number(JsonValue.Create("NaN"), "a.b", 0, 8), "must be a number"),
            (() => A1111Fields.Number(JsonValue.Create("Infinity"), "a.b", 0, 8), "must be a number"),
            (() => A1111Fields.Number(JsonNode.Parse("8.5"), "a.b", 0, 8), "8.5 is out of range 0–8"),
            (() => A1111Fields.Number(JsonNode.Parse("{}"), "a.b", 0, 8), "must be a number"),
            (() => A1111Fields.Text(JsonNode.Parse("3"), "a.b"), "must be a string"),
            (() => A1111Fields.Flag(JsonValue.Create("true"), "a.b"), "must be true or false"),
            (() => A1111Fields.Flag(JsonNode.Parse("1"), "a.b"), "must be true or false"),
        })
        {
            var error = Assert.Throws<A1111RequestException>(read);
            Assert.Equal(422, error.Status);
            Assert.Equal("a.b", error.Field);
            Assert.Contains(expected, error.Message);
        }
    }
}

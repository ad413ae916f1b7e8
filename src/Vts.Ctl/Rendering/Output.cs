using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spectre.Console.Rendering;
using Vts.Ctl.Node;

namespace Vts.Ctl.Rendering;

/// <summary>Shows a node's answer either for people (Spectre widgets) or, with --json, for scripts: the body as
/// the node sent it, indented, and nothing else on stdout, so it pipes straight into jq.</summary>
public sealed class Output(bool json)
{
    // Keep non-ASCII text (error messages, paths) readable instead of \uXXXX escapes.
    private static readonly JsonSerializerOptions Pretty = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public bool IsJson => json;

    public void Show<T>(NodeReply<T> reply, Func<T, IRenderable> render)
    {
        if (json) WriteJson(reply.Body);
        else AnsiConsole.Write(render(reply.Value));
    }

    /// <summary>For answers meant to be read line by line (ids, messages): plain text, never wrapped to the
    /// terminal's width, so a long id survives copy and paste.</summary>
    public void Show<T>(NodeReply<T> reply, Func<T, IEnumerable<string>> lines)
    {
        if (json)
        {
            WriteJson(reply.Body);
            return;
        }
        foreach (var line in lines(reply.Value)) Console.Out.WriteLine(line);
    }

    private static void WriteJson(string body) =>
        Console.Out.WriteLine(JsonNode.Parse(body)?.ToJsonString(Pretty) ?? "null");
}

using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vts.Integration.Tests.Fixtures;

/// <summary>Debian's headless Chromium, driven over the DevTools protocol: a real browser running the page's script.</summary>
public sealed class Chromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _page = new();
    private int _ids;

    private Chromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    public static string? Executable => new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    public static async Task<Chromium> Open(string url)
    {
        var profile = Directory.CreateTempSubdirectory("vts-chromium-").FullName;
        var info = new ProcessStartInfo(Executable ?? throw new InvalidOperationException("chromium is not installed (build.ps1 test installs it)"))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var arg in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--disable-quic", "--remote-debugging-address=127.0.0.1",
                     "--remote-debugging-port=0", "--window-size=1280,900", $"--user-data-dir={profile}", "about:blank",
                 })
            info.ArgumentList.Add(arg);
        var process = Process.Start(info)!;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var browser = new Chromium(process, profile);

        var portFile = Path.Combine(profile, "DevToolsActivePort");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(portFile) || File.ReadAllLines(portFile).Length < 1)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("chromium did not open its DevTools port");
            await Task.Delay(50);
        }
        var port = int.Parse(File.ReadAllLines(portFile)[0]);
        using var http = new HttpClient();
        var target = JsonNode.Parse(await (await http.PutAsync($"http://127.0.0.1:{port}/json/new?{url}", null)).Content.ReadAsStringAsync())!;
        await browser._page.ConnectAsync(new Uri(target["webSocketDebuggerUrl"]!.GetValue<string>()), CancellationToken.None);
        return browser;
    }

    /// <summary>Evaluates a JavaScript expression in the page and returns its value as a string.</summary>
    public async Task<string> Evaluate(string expression)
    {
        var result = await Send("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        return result["result"]?["value"]?.ToString() ?? "";
    }

    public async Task Screenshot(string path)
    {
        var result = await Send("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(result["data"]!.GetValue<string>()));
    }

    private async Task<JsonNode> Send(string method, JsonObject parameters)
    {
        var id = ++_ids;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        await _page.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[1 << 20];
        while (true)
        {
            using var text = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await _page.ReceiveAsync(buffer, timeout.Token);
                text.Write(buffer, 0, received.Count);
            } while (!received.EndOfMessage);
            var reply = JsonNode.Parse(text.ToArray())!;
            if (reply["id"]?.GetValue<int>() != id) continue; // an event, or another reply
            if (reply["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return reply["result"]!;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _page.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        try { Directory.Delete(_profile, true); } catch (IOException) { }
    }
}

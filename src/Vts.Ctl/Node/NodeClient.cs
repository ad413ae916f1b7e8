using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Vts.Admin.Contracts;

namespace Vts.Ctl.Node;

/// <summary>Talks to one node's admin port (docs/operations.md) and turns every way that can go wrong into a
/// <see cref="NodeCommandException"/> an operator can act on.</summary>
public sealed class NodeClient : IDisposable
{
    // Long enough for a node busy journaling, short enough that a dead address doesn't hang a script.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly NodeEndpoint _node;
    private readonly bool _sentToken;

    public NodeClient(NodeEndpoint node, string? token)
    {
        _node = node;
        _sentToken = !string.IsNullOrEmpty(token);
        // Straight to the node: a proxy would only see the token and the operator's questions.
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = node.BaseAddress, Timeout = Timeout };
        if (_sentToken) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Task<NodeReply<T>> GetAsync<T>(string pathAndQuery, CancellationToken ct) =>
        SendAsync<T>(new HttpRequestMessage(HttpMethod.Get, pathAndQuery), ct);

    public Task<NodeReply<T>> PostAsync<T>(string path, object? body, CancellationToken ct) =>
        SendAsync<T>(new HttpRequestMessage(HttpMethod.Post, path)
        {
            // Buffered rather than JsonContent's stream, so the request carries a Content-Length instead of chunks.
            Content = body is null ? null : new StringContent(
                JsonSerializer.Serialize(body, body.GetType(), AdminApi.Json), Encoding.UTF8, "application/json"),
        }, ct);

    public Task<NodeReply<T>> DeleteAsync<T>(string path, CancellationToken ct) =>
        SendAsync<T>(new HttpRequestMessage(HttpMethod.Delete, path), ct);

    private async Task<NodeReply<T>> SendAsync<T>(HttpRequestMessage request, CancellationToken ct)
    {
        using (request)
        {
            string body;
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, ct);
                body = await response.Content.ReadAsStringAsync(ct);
            }
            catch (HttpRequestException ex)
            {
                // The outer message is often just "An error occurred while sending the request".
                throw NodeCommandException.Unreachable(_node, ex.InnerException?.Message ?? ex.Message);
            }
            catch (SocketException ex)
            {
                throw NodeCommandException.Unreachable(_node, ex.Message);
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                throw NodeCommandException.Unreachable(_node, $"no answer within {Timeout.TotalSeconds:0} s");
            }

            using (response)
            {
                if (!response.IsSuccessStatusCode) throw Rejected(response, body);
                return new NodeReply<T>(Read<T>(request, body), body);
            }
        }
    }

    private NodeCommandException Rejected(HttpResponseMessage response, string body)
    {
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            return NodeCommandException.Failed(_sentToken
                ? "the node rejected the token (--token or VTS_TOKEN)"
                : "the node requires a token (--token or VTS_TOKEN)");
        }
        return NodeCommandException.Failed(ErrorText(body)
            ?? $"the node answered {(int)response.StatusCode} {response.ReasonPhrase}");
    }

    // The node explains a refusal in an ApiError; anything else (a proxy's HTML page, an empty body) is
    // reported by its status alone.
    private static string? ErrorText(string body)
    {
        try
        {
            var error = JsonSerializer.Deserialize<ApiError>(body, AdminApi.Json);
            return string.IsNullOrWhiteSpace(error?.Error) ? null : error.Error;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static T Read<T>(HttpRequestMessage request, string body)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(body, AdminApi.Json)
                ?? throw new JsonException("the body is empty or null");
        }
        catch (JsonException ex)
        {
            throw NodeCommandException.Failed(
                $"unexpected answer to {request.Method} {request.RequestUri}: {ex.Message}");
        }
    }

    public void Dispose() => _http.Dispose();
}

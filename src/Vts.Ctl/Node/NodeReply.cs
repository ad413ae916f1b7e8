namespace Vts.Ctl.Node;

/// <summary>A successful answer from the node: the DTO for tables, and the body as it came for --json.</summary>
public sealed record NodeReply<T>(T Value, string Body);

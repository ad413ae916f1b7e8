namespace Vts.AutoCopy.Serialization;

/// <summary>A message that may cross from one node to another: commands routed to a pool's owner, their replies, the
/// cluster's transfer gate and event log. Every one is bound to <see cref="VtsSerializer"/> through this interface and
/// has a manifest of its own there, so none falls back to Akka's default JSON with CLR type names. A message that
/// never leaves its node (a parent and its children, an actor and itself) is marked
/// <see cref="Akka.Actor.INoSerializationVerificationNeeded"/> instead, so tests that serialize every message skip it.</summary>
public interface IClusterMessage;

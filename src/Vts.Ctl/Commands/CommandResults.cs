using Vts.Admin.Contracts;
using Vts.Ctl.Node;
using Vts.Ctl.Rendering;

namespace Vts.Ctl.Commands;

/// <summary>How the node's answer to an operation (leave, down, retry) ends vtsctl: its message on stdout when it
/// worked; when it did not, exit 1 with the message on stderr, so a script can tell without parsing.</summary>
public static class CommandResults
{
    public static void Report(Output output, NodeReply<CommandResult> reply)
    {
        output.Show(reply, result => result.Ok ? [result.Message] : []);
        if (!reply.Value.Ok) throw NodeCommandException.Failed(reply.Value.Message);
    }
}

"""The dispatch core: plain Python, no Flask. Everything that decides what happens to a post.

states      the post statuses, and the one table of what each allows: the user's actions and the
            dispatcher's moves (also: due_at, refusal sentences)
actions     the whole vocabulary of what a user does to a post, one function per action; `Core`
readiness   whether the owner's LinkedIn token can carry a post at its time, and every sentence
            about it
store       the only code that writes posts: guarded UPDATEs built from the status table
dispatcher  claim -> fence -> send -> record, for every alarm; the sweep
senders     the bounded pool of sending threads, reserved before a claim
retry       what to do after one webhook call: a pure decision, and the backoff policy
webhook     the n8n client: one POST per try within one wall-clock deadline
check       the pipeline check: one dry run through the webhook, read as five steps (a pure
            decision), and when a failed check is worth a warning
errors      the refusals the core raises (400 / 404 / 409), each with a sentence
alarms/     what wakes a post up at its time: local (the in-process dispatcher loop), qstash
            (one QStash message per post version, and the signature check of its delivery)
"""

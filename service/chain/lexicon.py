"""English words of speech the parser reads attributions by: reporting verbs, verbs with a particle,
nouns naming something said, and the pronouns a speaker is carried by."""

from __future__ import annotations

# Verbs of reporting and speech acts in English (lemmas). Other verbs count when they take a clause
# ("Lupescu hopes that ...") and a named or pronoun subject.
SPEECH_VERBS = frozenset(
    "say tell add state claim accuse argue warn deny insist allege blame reject note explain write announce "
    "urge maintain counter reply respond acknowledge admit concede suggest describe vow demand "
    "criticise criticize condemn dismiss dispute contend call confirm reveal stress emphasise emphasize "
    "assert declare charge caution complain believe affirm report tweet post retort hint characterise "
    "characterize slam predict promise pledge recall estimate question ask answer observe "
    "remark comment mention indicate brand label testify reiterate repeat underline highlight decry lament "
    "welcome praise defend object protest advise recommend propose appeal plead assure boast imply "
    "proclaim quip reckon speculate swear restate reaffirm echo speak".split()
)
# Verbs that report speech only with their particle: "hit back at", "pointed out that".
SPEECH_PHRASES = frozenset(
    {("hit", "back"), ("fire", "back"), ("point", "out"), ("lash", "out"), ("push", "back")}
)
# Nouns naming something said; "a warning from X" or "a statement by X" makes X the speaker.
SPEECH_NOUNS = frozenset(
    "statement warning remark remarks comment comments claim claims accusation accusations allegation "
    "assertion denial announcement message appeal threat pledge promise admission assessment response "
    "reply rebuttal criticism condemnation insistence testimony briefing tweet post letter".split()
)
# Predicates of saying nothing: "declined to comment", "was unavailable for comment", "could not be
# reached for comment" (with "not" for those that need it).
SILENT = frozenset("decline refuse unavailable respond reply return reach answer comment".split())
SILENT_ALONE = frozenset({"decline", "refuse", "unavailable"})
# What a silence leaves unanswered: "comment", or a journalist's "questions", "calls" or "request".
ASKED = frozenset("comment question request call inquiry enquiry email message".split())
PERSONAL = frozenset({"he", "she", "his", "her"})
COLLECTIVE = frozenset({"they", "it", "their", "its"})

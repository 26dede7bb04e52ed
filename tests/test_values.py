"""What kind of value a question asks for, and whether an answer holds one (values.py)."""

from __future__ import annotations

import pytest

from assistant import values


@pytest.mark.parametrize("question, kind", [
    ("how much does it cost to park per day", "money"),
    ("how much is parking a day at the centre", "money"),
    ("what would the whole treatment cost privately", "money"),
    ("list price of tisa-cel?", "money"),
    ("are there any fees for the carer's room", "money"),
    # whether it costs anything at all
    ("is the flat near the centre free for carers?", "money"),
    ("will we need to pay for the sperm storage ourselves", "money"),
    ("Flu/Cy doses in mg/m2 before axi-cel?", "dose"),
    ("tocilizumab dosing for grade 2 CRS", "dose"),
    ("how many mg of dexamethasone for ICANS", "dose"),
    ("what is the usual dose of tocilizumab for CRS", "dose"),
    ("anakinra dosing for steroid-refractory ICANS?", "dose"),  # a note with no verb of asking
    ("dexamethasone dose and frequency for grade 3 ICANS", "dose"),
    ("what dose the centre uses for tocilizumab", "dose"),  # "dose" before a determiner, after "what"
    ("what dose of toci does it take for CRS", "dose"),
    ("2-year OS and EFS in the trial?", "figures"),
    ("what is the overall survival with liso-cel", "figures"),
    ("what's the response rate in myeloma", "figures"),
    ("what are the chances of getting ICANS after the cells", "likelihood"),
    ("how common is a second cancer after car t", "likelihood"),
    ("how often will he need blood tests once he is home", "frequency"),
    ("how frequently does the panel sit?", "frequency"),
    ("how many weeks will I have to stay near the hospital", "duration"),
    ("how long dose crs last 4 most people", "length"),  # "dose" typed for "does": a length, not a dose
    ("how long do i need to use contraception after", "length"),
    ("how long is the follow up, os it 15 years", "length"),  # "os", a slip, not overall survival
    ("roughly how many more days in hospital after the cells go back in?", "duration"),
    ("what time should we arrive for the collection", "time"),
    ("what are the day unit's opening hours", "time"),
    # each question of a message read alone: the second asks where, the first still asks when
    ("what time should we arrive for the collection, and where do we go when we get there", "time"),
    ("whats the email adress for the ward", "email"),
    ("LVEF threshold for CAR-T fitness?", "level"),
    ("minimum CrCl for referral?", "level"),  # a least of a measure
    ("is there an upper age limit for third-line axi-cel?", "upper-age"),
    ("is my husband too old for car t at 78", "upper-age"),
    ("what CD4 cut-off do you use before stopping prophylaxis", "level"),
    ("what does CRS stand for?", "letters"),
    ("what's ICE short for", "letters"),
    ("what does cdf stand for, it's on my letter", "letters"),  # typed in lower case: no English word
    ("when was the brexu-cel appraisal published?", "date"),
    ("when did CAR-T become routine NHS care", "date"),
    ("what year was Kymriah approved for children", "date"),
])
def test_a_question_asking_for_a_value_names_its_kind(question, kind):
    assert values.asked_kind(question).id == kind


@pytest.mark.parametrize("question", [
    "is there any help with parking or the cost of travelling in",  # help, not an amount
    "how is liso-cel paid for on the NHS",  # how it is funded
    "obe-cel: single infusion or split dosing?",  # a schedule, not an amount
    "who do I speak to about an individual patient's dose",  # a person
    "where can I find out about prices",  # a place
    "how much will I have to rest after",  # an amount, not of money
    "will the scan show if the cancer is free of disease",  # free of something, not of charge
    # a number of doses, or when they are given, not the amount of a medicine
    "obe-cel dose interval?",
    "what's the dosing schedule for obe-cel",
    "is CRS monitoring needed after both doses?",
    "will my dad need more than one dose of cells?",
    "how many doses of each vaccine will I need again",
    "does the CRS summary give doses?",  # whether a document covers them
    # "dose" typed for "does"
    "how dose car t actualy work in the body",
    "dose my carer hav to be there day an night",
    "how dose the referal bit work at the start",
    "Dose it hurt when the cells go in?",
    # how likely, not how often it is done: "how often does that actually happen?"
    "car t can give you another cancer? how often does that actually happen",
    "what time of year is best for the flu jab",
    "what levels of CRS are there",  # grades, not a figure of a measure
    "ICE score - how many pts for the naming task?",  # points, not patients
    "and the usual centre fitness thresholds on top of that?",  # criteria, which give their own figures
    "can I email my questions to the team",  # whether, not the address
    "min age axi cel third line",  # age is no measure: criteria, which give their own figures
    "on 4 L/min oxygen via NC, what CRS grade is that?",  # "min" of a rate, not a minimum
    "what does it stand for?",  # names no letters: not judged
    "what does car t stand for",  # "car" is an English word: no letters named
    # when something happens to someone, not a date: the leaflets give days after the infusion
    "when did the CRS start for most people in the study",
    "why do the nurses ask him what year it is",
])
def test_a_question_about_a_value_does_not_ask_for_one(question):
    assert values.asked_kind(question) is None


@pytest.mark.parametrize("question, answer, lacking", [
    ("how much does parking cost per day", "Ask the team about parking, and about any help with travel costs.", "money"),
    ("how much does parking cost per day", "Parking is £4 a day for patients.", None),
    ("is the flat free for carers?", "Ask the team about places to stay.", "money"),
    # how likely: a share, or the leaflets' words for one
    ("what are the chances it comes back", "Your team will talk to you about your follow-up.", "likelihood"),
    ("what are the chances of getting CRS", "CRS is common after CAR-T.", None),
    ("ANC threshold for starting G-CSF?", "Low blood counts are common. Follow the local protocol.", "level"),
    ("ANC threshold for starting G-CSF?", "Low counts are common. Neutrophils (ANC) below 0.5 count as severe.", None),
    ("EF threshold centres use?", "- a left ventricular ejection fraction (LVEF) above 40%", None),  # EF inside LVEF
    ("is the flat free for carers?", "The flat is free for one carer.", None),
    ("how often is the temperature checked at home", "Check your temperature twice a day.", None),
    ("how often is the temperature checked at home", "We check it often.", None),  # the leaflets' own answer
    ("how often is the temperature checked at home", "Use a digital thermometer under the tongue.", "frequency"),
    # "how often" in the answer is what the team will say, not how often
    ("how often are the antibody drips given", "Your team will tell you if you need them and how often.", "frequency"),
    ("what time do I arrive", "Come to the day unit at 8am.", None),
    ("what time do I arrive", "Come to the day unit on the morning of your collection.", "time"),
    ("what is the email address for referrals", "Email cart.referrals@example.nhs.uk.", None),
    ("what is the email address for referrals", "Send the referral to the coordinator.", "email"),
    ("how much does parking cost per day", "Parking is free for the named carer.", None),
    ("Flu/Cy doses before axi-cel?", "Lymphodepleting chemotherapy is usually fludarabine and cyclophosphamide.", "dose"),
    ("Flu/Cy doses before axi-cel?", "Fludarabine 30 mg/m2 and cyclophosphamide 500 mg/m2 daily.", None),
    ("EFS in ZUMA-7?", "ZUMA-7 compared axi-cel with standard care in early relapse.", "figures"),
    ("EFS in ZUMA-7?", "Event-free survival at 2 years was 41% against 16%.", None),
    ("what is CRS?", "CRS is an inflammatory reaction.", None),  # asks no value: nothing is judged
    ("what does CRS stand for?", "Cytokine release syndrome (CRS) is common.", None),
    ("what does cdf stand for", "The Cancer Drugs Fund pays for some medicines.", None),
    # one word passed over: Immune Effector Cell-Associated Neurotoxicity Syndrome
    ("icans, what is that short for", "It stands for immune effector cell-associated neurotoxicity syndrome.", None),
    ("what does the CAR in CAR-T stand for?", "CAR-T is a treatment made from your own T cells.", "letters"),
    ("what does ICE stand for", "The ICE score checks writing, naming and attention.", "letters"),
    # a count of weeks or months asks for one, in numbers or the leaflets' words
    ("how many months after the infusion is contraception needed", "Ask your team how long to use it for.", "duration"),
    ("how many weeks until the cells come back from the lab", "This takes a few weeks.", None),
    ("how many weeks until the cells come back from the lab", "It takes about 3 to 4 weeks.", None),
    ("how many years of follow-up", "Long-term follow-up lasts at least 15 years.", None),
    ("how many weeks after the infusion is the first scan", "Before treatment you may have heart tests.", "duration"),
    # how long: a length of time, who will say how long (the leaflets' own answer), or until when
    ("how long do i need to use contraception after", "Your team can tell you how long to use it for.", None),
    ("how long do i need to use contraception after", "Ask your team about contraception.", "length"),
    ("will I need a bone marrow biopsy after, and if so how long after", "Your team will check how you respond.", "length"),
    ("how long will i be on the anti-infection tablets", "These may be needed for several months.", None),
    ("how long till I can drive", "Do not drive until your team says it is safe.", None),
    # a least age is no upper age limit; an age as the most, or none by age alone, is one
    ("is there an upper age limit for axi-cel?", "Criteria: age 18 or over; ECOG 0-1.", "upper-age"),
    ("is he too old for tisa-cel?", "It can be used for people aged 25 and under with B-ALL.", None),
    ("minimum CrCl for referral?", "Adequate kidney function and an LVEF above 40%.", "level"),
    ("minimum CrCl for referral?", "A CrCl of at least 30 mL/min.", None),
    # a measure as clinicians shorten it, named in the answer spelled out
    ("max O2 flow for grade 2 CRS?", "Grade 2: a need for oxygen by low-flow nasal cannula (up to 6 L/min).", None),
    ("max O2 flow for grade 2 CRS?", "Grade 2 needs a fever of 38 C or more.", "level"),
    ("PLT threshold for holding anticoagulation?", "Hold it if the platelet count is under 50.", None),
    ("PLT threshold for holding anticoagulation?", "Ask the team about anticoagulation.", "level"),
    ("when was TA1116 published?", "The appraisal is NICE TA1116.", "date"),
    ("when was TA1116 published?", "NICE published TA1116 in 2025.", None),
])
def test_an_answer_without_the_value_asked_for_is_missing_it(question, answer, lacking):
    found = values.missing(question, answer)
    assert (found.id if found else None) == lacking


def test_a_figure_must_be_of_the_measure_asked():
    """Any percentage is not a survival figure: the answer must name what its figure measures."""
    asked = "progression-free survival with cilta-cel in CARTITUDE-1?"
    assert values.missing(asked, "Parkinsonism occurred in about 5% of patients in CARTITUDE-1.").id == "figures"
    assert values.missing(asked, "Median progression-free survival was 34.9 months; 80% were alive at 2 years.") is None

"""群众咨询: citizens' questions, routing to the department that does the work, answers, publication.

``intake`` takes a question (portal form or SMS reply), ``answers`` is the staff
side (answer, 追问, reassign), ``publication`` de-identifies and publishes,
``deadlines`` keeps the reply due day on the county calendar, ``stats`` counts.
"""

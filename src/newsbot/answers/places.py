"""Country and U.S. state names, written out here (no downloaded data): for "which country" and
"which state" questions, the possible answers are these names, not any capitalised word.
"""

from __future__ import annotations

import re


def _names(text: str) -> tuple[str, ...]:
    return tuple(" ".join(n.split()) for n in text.split("|") if n.strip())


COUNTRIES = _names(
    """
Afghanistan | Albania | Algeria | Andorra | Angola | Antigua | Argentina | Armenia | Australia
| Austria | Azerbaijan | Bahamas | Bahrain | Bangladesh | Barbados | Belarus | Belgium |
Belize | Benin | Bhutan | Bolivia | Bosnia | Botswana | Brazil | Brunei | Bulgaria | Burkina
Faso | Burundi | Cambodia | Cameroon | Canada | Cape Verde | Chad | Chile | China | Colombia |
Comoros | Congo | Costa Rica | Croatia | Cuba | Cyprus | Czech Republic | Czechia | Denmark |
Djibouti | Dominica | Dominican Republic | Ecuador | Egypt | El Salvador | Equatorial Guinea |
Eritrea | Estonia | Eswatini | Ethiopia | Fiji | Finland | France | Gabon | Gambia | Georgia |
Germany | Ghana | Greece | Greenland | Grenada | Guatemala | Guinea | Guyana | Haiti |
Honduras | Hungary | Iceland | India | Indonesia | Iran | Iraq | Ireland | Israel | Italy |
Ivory Coast | Jamaica | Japan | Jordan | Kazakhstan | Kenya | Kiribati | Kosovo | Kuwait |
Kyrgyzstan | Laos | Latvia | Lebanon | Lesotho | Liberia | Libya | Liechtenstein | Lithuania |
Luxembourg | Madagascar | Malawi | Malaysia | Maldives | Mali | Malta | Mauritania | Mauritius
| Mexico | Micronesia | Moldova | Monaco | Mongolia | Montenegro | Morocco | Mozambique |
Myanmar | Namibia | Nauru | Nepal | Netherlands | New Zealand | Nicaragua | Niger | Nigeria |
North Korea | North Macedonia | Norway | Oman | Pakistan | Palau | Palestine | Panama | Papua
New Guinea | Paraguay | Peru | Philippines | Poland | Portugal | Qatar | Romania | Russia |
Rwanda | Samoa | San Marino | Saudi Arabia | Senegal | Serbia | Seychelles | Sierra Leone |
Singapore | Slovakia | Slovenia | Somalia | South Africa | South Korea | South Sudan | Spain |
Sri Lanka | Sudan | Suriname | Sweden | Switzerland | Syria | Taiwan | Tajikistan | Tanzania |
Thailand | Togo | Tonga | Trinidad | Tunisia | Turkey | Turkmenistan | Tuvalu | Uganda |
Ukraine | United Arab Emirates | United Kingdom | Britain | England | Scotland | Wales |
United States | Uruguay | Uzbekistan | Vanuatu | Vatican | Venezuela | Vietnam | Yemen |
Zambia | Zimbabwe | Puerto Rico | Hong Kong
"""
)
STATES = _names(
    """
Alabama | Alaska | Arizona | Arkansas | California | Colorado | Connecticut | Delaware |
Florida | Georgia | Hawaii | Idaho | Illinois | Indiana | Iowa | Kansas | Kentucky | Louisiana
| Maine | Maryland | Massachusetts | Michigan | Minnesota | Mississippi | Missouri | Montana |
Nebraska | Nevada | New Hampshire | New Jersey | New Mexico | New York | North Carolina |
North Dakota | Ohio | Oklahoma | Oregon | Pennsylvania | Rhode Island | South Carolina | South
Dakota | Tennessee | Texas | Utah | Vermont | Virginia | Washington | West Virginia |
Wisconsin | Wyoming
"""
)
# "Which country", "which European nation", "in what two countries", "which U.S. state"
COUNTRY_Q = re.compile(r"\b(?:which|what) (?:[\w-]+ ){0,2}(?:country|countries|nation|nations)\b")
STATE_Q = re.compile(r"\b(?:which|what) (?:[\w.-]+ ){0,2}(?:state|states)\b")
COUNTRY = re.compile(r"\b(?:" + "|".join(map(re.escape, COUNTRIES)) + r")\b")
STATE = re.compile(r"\b(?:" + "|".join(map(re.escape, STATES)) + r")\b")
